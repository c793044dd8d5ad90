"""The web app's pages: each lays out its panels; the scripts in app/ only call render()."""
