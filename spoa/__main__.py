"""``python -m spoa`` runs the command line; the frozen ``spoa`` executable (build.spec)
starts here too."""

import multiprocessing
import sys

if __name__ == "__main__":
    # First: in a frozen build a letter worker process (spoa.letters.builders) runs its task
    # here and stops, without parsing the command line again.
    multiprocessing.freeze_support()
    from spoa.cli import main

    sys.exit(main())
