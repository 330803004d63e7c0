#!/usr/bin/env bash
# Compress/decompress speed with 2 worker processes on 2 cores: the first 48 KiB of
# alice29.txt as two 24 KiB chunks (so both workers have a chunk). Usage: scripts/two_core_speed.sh [CORPORA]
corpora=$(cd "${1:-../shared/corpora}" && pwd)
cd "$(mktemp -d)"
head -c 49152 "$corpora/canterbury/alice29.txt" > alice48k.txt
rm -f alice48k.txt.lmz
s=$(date +%s.%N); /usr/bin/time -f "%M KB maxrss" lmzip -q -f -T 2 --chunk-size 24576 alice48k.txt 2> twocore_c.err; e=$(date +%s.%N)
echo "compress $(python3 -c "print(round(49152/($e-$s)/1000,3))") KB/s, $(stat -c %s alice48k.txt.lmz) bytes"
s=$(date +%s.%N); /usr/bin/time -f "%M KB maxrss" lmzip -q -d -c -T 2 alice48k.txt.lmz 2> twocore_d.err | cmp - alice48k.txt && echo roundtrip-ok; e=$(date +%s.%N)
echo "decompress $(python3 -c "print(round(49152/($e-$s)/1000,3))") KB/s"
cat twocore_c.err twocore_d.err
