# shared host library: plugin loader, pmem mapping, in-process host
