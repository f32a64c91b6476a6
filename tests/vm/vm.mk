# VM tests (make check-vm)
