# unit tests of the format library, mkfs and fsck
