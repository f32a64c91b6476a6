# rules for tests
