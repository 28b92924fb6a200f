"""CNN Playground: a Panel app to build a CNN from blocks and train it in the browser.

``playground.state`` holds the one state object and the pure logic (share-link
codec, undo/redo, model analysis); ``playground.components`` the Viewer pieces;
``playground/app.py`` only assembles the page.
"""
