#!/usr/bin/env bash
# Print the EAL memory arguments this machine supports right now:
# hugepages when enough are free, else --no-huge (slower, but works anywhere).
# Usage: umbra $(deploy/eal-mem.sh [MB]) ...
mb=${1:-512}
free=$(awk '/HugePages_Free/ {print $2}' /proc/meminfo 2>/dev/null)
size_kb=$(awk '/Hugepagesize/ {print $2}' /proc/meminfo 2>/dev/null)
if [ -n "$free" ] && [ -n "$size_kb" ] && [ $((free * size_kb / 1024)) -ge "$mb" ] \
   && mountpoint -q /dev/hugepages 2>/dev/null; then
  echo "--huge-unlink"
else
  echo "--no-huge -m $((mb > 1024 ? mb : 1024)) --no-shconf"
fi
