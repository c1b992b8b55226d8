"""callgrind_control for the profile drivers (profile_echo.py,
profile_fanout.py): valgrind takes a command only while the server runs
code, and an idle NGINX sleeps in epoll_wait, so the server is sent
requests until the command returns."""

import asyncio
import subprocess


async def profiler(command, host, port, nudge):
    """Runs a callgrind_control command (nothing if empty), sending the
    HTTP request nudge (bytes) to host:port over one keep-alive
    connection, and reading each answer, until the command returns."""
    if not command:
        return
    proc = subprocess.Popen(command, shell=True, stdout=subprocess.DEVNULL)
    reader, writer = await asyncio.open_connection(host, int(port))
    while proc.poll() is None:
        writer.write(nudge)
        head = await reader.readuntil(b"\r\n\r\n")
        length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:")]
        await reader.readexactly(length[0] if length else 0)
        await asyncio.sleep(0.01)
    writer.close()
    if proc.returncode != 0:
        raise SystemExit(f"{command}: exit {proc.returncode}")
