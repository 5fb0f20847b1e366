"""``python -m ui`` starts the desktop app; the frozen ``spoa-desk`` executable (build.spec)
starts here too."""

import multiprocessing
import sys

if __name__ == "__main__":
    # First, before Qt is imported: in a frozen build a letter worker process (see
    # spoa.letters.builders) runs its task here and stops, without loading Qt or the app.
    multiprocessing.freeze_support()
    from ui.app import main

    sys.exit(main())
