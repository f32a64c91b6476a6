#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""times-seq.py DIR: one fixed sequence of operations in DIR, and for each
step which timestamps it moved (atime, mtime, ctime of the file it works on
and of DIR/d, the directory holding it).  Run on ext4 and on pmfs2 under
the same mount options, the two outputs must be the same: that is how the
VFS rules (relatime, noatime, strictatime, nodiratime) are checked without
writing them down twice.

  times-seq.py DIR            the table, one "step: file=amc dir=amc" a line
  times-seq.py --save DIR F   the exact times of DIR/d and DIR/d/f into F
  times-seq.py --check DIR F  the same times as saved, to the nanosecond
"""
import errno
import mmap
import os
import subprocess
import sys
import time

# long enough for a coarse clock (jiffies) to move between steps
PAUSE = 0.03


def stamp(path):
    st = os.stat(path, follow_symlinks=False)
    return (st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)


def moved(before, after):
    return "".join(c if b != a else "-" for c, b, a in zip("amc", before, after))


def run(top):
    d = os.path.join(top, "d")
    f = os.path.join(d, "f")
    os.mkdir(d)
    with open(f, "wb") as fh:
        fh.write(b"x" * 8192)
    # old times: relatime then updates atime at the first access
    os.utime(f, ns=(10**18, 10**18))
    os.utime(d, ns=(10**18, 10**18))
    cur = {"f": f}

    def rd():
        fd = os.open(cur["f"], os.O_RDONLY)
        os.read(fd, 1)
        os.close(fd)

    def mmap_rd():
        fd = os.open(cur["f"], os.O_RDONLY)
        m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
        _ = m[0]
        m.close()
        os.close(fd)

    def mmap_wr():
        fd = os.open(cur["f"], os.O_RDWR)
        m = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
        m[100] = 0x41
        m.flush()
        m.close()
        os.close(fd)

    def wr():
        fd = os.open(cur["f"], os.O_WRONLY)
        os.pwrite(fd, b"y", 10)
        os.close(fd)

    def append():
        with open(cur["f"], "ab") as fh:
            fh.write(b"z")

    def trunc_same():
        fd = os.open(cur["f"], os.O_WRONLY)
        os.ftruncate(fd, os.fstat(fd).st_size)
        os.close(fd)

    def trunc_grow():
        os.truncate(cur["f"], os.stat(cur["f"]).st_size + 4096)

    def otrunc():
        os.close(os.open(cur["f"], os.O_WRONLY | os.O_TRUNC))

    def rename():
        new = os.path.join(d, "g" if cur["f"].endswith("/f") else "f")
        os.rename(cur["f"], new)
        cur["f"] = new

    def xattr():
        try:
            os.setxattr(cur["f"], "user.t", b"1")
        except OSError as e:
            if e.errno != errno.EOPNOTSUPP:
                raise

    def readdir():
        os.listdir(d)

    def lookup_miss():
        try:
            os.stat(os.path.join(d, "none"))
        except FileNotFoundError:
            pass

    steps = [
        ("read", rd),
        ("read again", rd),
        ("mmap read", mmap_rd),
        ("write", wr),
        ("read after write", rd),
        ("read once more", rd),
        ("mmap write", mmap_wr),
        ("append", append),
        ("chmod", lambda: os.chmod(cur["f"], 0o600)),
        ("chown to itself", lambda: os.chown(cur["f"], os.getuid(), os.getgid())),
        ("link", lambda: os.link(cur["f"], os.path.join(d, "l"))),
        ("unlink the link", lambda: os.unlink(os.path.join(d, "l"))),
        ("rename", rename),
        ("setxattr", xattr),
        # touch -a / -m: utimensat with UTIME_NOW and UTIME_OMIT
        ("utimensat NOW, OMIT", lambda: subprocess.run(["touch", "-a", cur["f"]], check=True)),
        ("utimensat OMIT, NOW", lambda: subprocess.run(["touch", "-m", cur["f"]], check=True)),
        ("utimensat OMIT, OMIT", lambda: os.utime(cur["f"], ns=(os.stat(cur["f"]).st_atime_ns,
                                                             os.stat(cur["f"]).st_mtime_ns))),
        ("ftruncate to the same size", trunc_same),
        ("truncate larger", trunc_grow),
        ("open O_TRUNC", otrunc),
        ("readdir", readdir),
        ("readdir again", readdir),
        ("lookup of a missing name", lookup_miss),
        ("create in the directory", lambda: open(os.path.join(d, "n"), "w").close()),
        ("read the new file", lambda: open(os.path.join(d, "n")).read()),
    ]
    for name, fn in steps:
        time.sleep(PAUSE)
        bf, bd = stamp(cur["f"]), stamp(d)
        fn()
        af, ad = stamp(cur["f"]), stamp(d)
        print("%s: file=%s dir=%s" % (name, moved(bf, af), moved(bd, ad)))


def save(top, out):
    d = os.path.join(top, "d")
    with open(out, "w") as fh:
        for p in sorted(os.listdir(d)) + ["."]:
            st = os.stat(os.path.join(d, p), follow_symlinks=False)
            fh.write("%s %d %d %d\n" % (p, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns))


def main(argv):
    if len(argv) == 2:
        run(argv[1])
    elif len(argv) == 4 and argv[1] == "--save":
        save(argv[2], argv[3])
    elif len(argv) == 4 and argv[1] == "--check":
        tmp = argv[3] + ".now"
        save(argv[2], tmp)
        if open(tmp).read() != open(argv[3]).read():
            sys.exit("times changed:\n--- saved\n%s--- now\n%s" %
                     (open(argv[3]).read(), open(tmp).read()))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
