"""Imported by pledgepack's fork server when it starts, and nowhere else: from then on the
server is killed when the command that started it ends, and the workers it forks know whose
children they must be (see workers.py)."""
import os

from pledgepack.workers import COMMAND_PID, SERVER_PID, die_with_parent

die_with_parent(int(os.environ[COMMAND_PID]) if os.environ.get(COMMAND_PID) else None)
os.environ[SERVER_PID] = str(os.getpid())
