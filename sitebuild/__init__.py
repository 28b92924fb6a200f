"""The build of CNN Playground's static site, one module per step (docs/SITE.md).

Standard library only: `build.py`, the launcher at the repository root, runs on a bare
Python >= 3.11 and imports this package; everything else lives in the venvs it creates.
"""
