# format library libpmfs2fmt (format helper)
