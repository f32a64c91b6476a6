# POSIX behaviour tests
