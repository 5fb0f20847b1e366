"""The main window's pages. Each is a ``ui.pages.base.Page``; ``ui.shell`` lists them."""
