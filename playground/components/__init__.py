"""Viewer components of the playground page, one per piece of the UI.

Modules are imported by ``playground/app.py`` directly (no re-exports here) so
that a component nobody uses costs nothing at start-up.
"""
