# pmfs2 plugin (plugin helper)
