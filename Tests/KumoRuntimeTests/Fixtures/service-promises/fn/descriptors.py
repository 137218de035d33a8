"""An exec function: the descriptors it was started with (probed with fstat, which opens none)."""
import os


def _descriptors():
    found = []
    for fd in range(1024):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found


print('{"descriptors": %s}' % _descriptors())
