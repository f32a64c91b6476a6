# zusd server and its transports
