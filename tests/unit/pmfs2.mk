# unit tests of the pmfs2 plugin
