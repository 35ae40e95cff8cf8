"""What the static site costs beside the build, at 100k statements.

The corpus comes from ../shared/bench/make_corpus.py (PLEDGEPACK_CORPUS_SCRIPT to use another
copy): 40 documents x 25 chapters x 100 statements by default, no git, SOURCE_DATE_EPOCH fixed.
It is built once (timed), then its site is written twice into two folders, each in a fresh
child process (timed; the median of the two is set beside the build). Figures: build and site
wall time (imports not included) and their ratio, peak memory of the site's main process (its
workers hold one document each), the site's size (all files, without the copied downloads,
and the search index alone), its number of pages, and whether the two sites are
byte-identical. Then the same tree of folders and files, of the same sizes, is written with
nothing rendered, in one process: what the file system alone charges for the site. Last,
where /dev/shm is a memory file system with room, the site is written there once more: what
the site costs without the disk.
Aim: the site costs less than the build.

Usage: bench_site.py [--documents N] [--chapters N] [--statements N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS_SCRIPT = REPO.parent / "shared" / "bench" / "make_corpus.py"
CHILD_FLAG = "--child"


def child(kind: str, source: str, out: str) -> dict:
    if kind == "files":
        return {"seconds": write_floor(Path(source), Path(out))}
    started = time.perf_counter()
    if kind == "build":
        from pledgepack.build import build

        build(source, out)
        return {"seconds": time.perf_counter() - started}
    from pledgepack.site.build import build_site

    result = build_site(source, out)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pages": result.pages, "files": result.files,
            "bytes": result.bytes,
            "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_child(kind: str, source: Path, out: Path) -> dict:
    # the corpus is not in git: its chapter cache goes beside the outputs, not into the user's
    env = dict(os.environ, SOURCE_DATE_EPOCH="1767225600",
               XDG_CACHE_HOME=str(out.parent / "cache"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH"))
                                        if p)
    # each run starts with nothing left to write back from the one before: ~0.7 GB of pages
    # still being flushed slowed the next run by half
    os.sync()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), CHILD_FLAG, kind,
                           str(source), str(out)], capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f"bench: {kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_floor(site: Path, out: Path) -> float:
    """Seconds to make a tree of the same folders and files, of the same sizes, as `site`, with
    nothing rendered: what the file system alone charges for the site, in one process."""
    folders, files = [], []
    for root, dirs, names in os.walk(site):
        rel = os.path.relpath(root, site)
        folders.extend(os.path.join(out, rel, d) for d in dirs)
        files.extend((os.path.join(out, rel, n), os.path.getsize(os.path.join(root, n)))
                     for n in names)
    blank = bytes(max((size for _, size in files), default=0))
    started = time.perf_counter()
    os.mkdir(out)
    for folder in folders:
        os.mkdir(folder)
    for path, size in files:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, blank[:size])
        os.close(fd)
    return time.perf_counter() - started


def memory_folder(size: int) -> str | None:
    """/dev/shm where it is a memory file system with room for a site of `size` bytes and a
    quarter more."""
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            tmpfs = any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in mounts)
        room = os.statvfs("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if tmpfs and room.f_bavail * room.f_frsize > size * 1.25 else None


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def size_of(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--chapters", type=int, default=25)
    parser.add_argument("--statements", type=int, default=100)
    args = parser.parse_args()
    script = Path(os.environ.get("PLEDGEPACK_CORPUS_SCRIPT", DEFAULT_CORPUS_SCRIPT))
    if not script.is_file():
        sys.exit(f"bench: {script} not found; set PLEDGEPACK_CORPUS_SCRIPT")
    with tempfile.TemporaryDirectory(prefix="pledgepack-bench-site-") as scratch:
        work = Path(scratch)
        corpus = work / "corpus"
        subprocess.run([sys.executable, str(script), "--documents", str(args.documents),
                        "--chapters", str(args.chapters), "--statements", str(args.statements),
                        str(corpus)], check=True, capture_output=True)
        built = run_child("build", corpus, work / "dist")
        first = run_child("site", work / "dist", work / "site-a")
        second = run_child("site", work / "dist", work / "site-b")
        same = tree_digest(work / "site-a") == tree_digest(work / "site-b")
        floor = run_child("files", work / "site-a", work / "blank")
        memory = None
        shm = memory_folder(first["bytes"])
        if shm:
            with tempfile.TemporaryDirectory(prefix="pledgepack-bench-site-", dir=shm) as mem:
                memory = run_child("site", work / "dist", Path(mem) / "site")
        site = work / "site-a"
        downloads = size_of(site / "download")
        index = (site / "assets" / "search-index.js").stat().st_size
        package = size_of(work / "dist")
        statements = args.documents * args.chapters * args.statements
        seconds = (first["seconds"] + second["seconds"]) / 2  # the median of two
        print(f"site bench: {statements} statements in {args.documents * args.chapters} "
              "chapter files")
        print(f"  build                  {built['seconds']:8.1f} s   package {package / 1e6:.1f} MB")
        print(f"  site (median of 2)     {seconds:8.1f} s   ({first['seconds']:.1f} s, "
              f"{second['seconds']:.1f} s)   {first['pages']} pages, "
              f"{first['files']} files, peak {first['peak_mib']:.0f} MiB")
        print(f"  site / build           {seconds / built['seconds']:8.2f}")
        print(f"  its files alone        {floor['seconds']:8.1f} s   the same folders and files, "
              f"nothing rendered, one process: {floor['seconds'] / built['seconds']:.2f} x the "
              "build")
        if memory:
            print(f"  site in memory         {memory['seconds']:8.1f} s   written to /dev/shm "
                  f"(tmpfs): {memory['seconds'] / built['seconds']:.2f} x the build")
        else:
            print("  site in memory             -     /dev/shm is not a tmpfs with room")
        print(f"  site size              {first['bytes'] / 1e6:8.1f} MB   "
              f"({(first['bytes'] - downloads) / 1e6:.1f} MB without the copied downloads)")
        print(f"  search index           {index / 1e6:8.1f} MB")
        print(f"  two sites identical    {'yes' if same else 'NO'}")
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_FLAG:
        print(json.dumps(child(*sys.argv[2:5])))
    else:
        main()
