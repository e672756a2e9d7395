"""Run the example with one command: the web app, a worker and the scheduler.

    python run.py [--port 5000] [--dir FOLDER]

The embedded default needs nothing else (``huey+sqlite:///taskbridge.db``, in this folder:
every process runs here, so they share it);
``TASKBRIDGE_URL=celery+redis://localhost:6379/0 python run.py`` runs the same app on Celery.
Open http://127.0.0.1:5000/ and, for the task dashboard, http://127.0.0.1:5000/tasks/.
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--dir", type=Path, default=HERE,
                        help="where the processes run, and so where the SQLite files go")
    given = parser.parse_args()
    port, folder = given.port, given.dir
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    flask = [sys.executable, "-m", "flask", "--app", "selection_app"]
    # Create the app's tables once, before three processes race to.
    subprocess.run([*flask, "taskbridge", "status"], env=env, cwd=folder, check=False,
                   stdout=subprocess.DEVNULL)
    background = [
        subprocess.Popen([*flask, "taskbridge", "worker", "-c", "2"], env=env, cwd=folder),
        subprocess.Popen([*flask, "taskbridge", "scheduler"], env=env, cwd=folder),
    ]
    try:
        subprocess.run([*flask, "run", "--port", str(port)], env=env, cwd=folder, check=False)
    except KeyboardInterrupt:
        pass
    finally:
        for process in background:
            process.terminate()
        for process in background:
            process.wait(30)


if __name__ == "__main__":
    main()
