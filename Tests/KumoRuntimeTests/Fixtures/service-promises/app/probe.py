"""The front service's exec health check: healthy while ../sick (in the project directory) does
not exist and the replica accepts connections on its port."""
import os
import socket
import sys

if os.path.exists("../sick"):
    sys.exit("sick")
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
