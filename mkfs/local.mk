# rules for mkfs
