zufsinclude_HEADERS += include/zufs/zus.h include/zufs/zus_pmem.h include/zufs/zufs_api.h
