"""CNN Playground: a Panel app to build a CNN from blocks and train it in the browser.

Pure logic, no Panel: ``spec`` (blocks and the layers format), ``presets``,
``settings`` (the table of link-carried settings), ``links`` (the share-link
codec), ``analysis`` (summary rows, fixes, the browser-tab guard, the pycnn
model), ``state`` (the one state object, undo/redo), ``training`` (the
training controller). ``components`` holds the Viewer pieces; ``app.py`` only
assembles the page.
"""
