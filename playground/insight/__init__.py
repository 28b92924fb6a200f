"""Pictures and words for the "see inside the network" views, from :mod:`pycnn.insight`.

No Panel import anywhere here: views call these pure functions, and unit tests
run them without a browser. One module per concern:

* ``colours`` — the colour-blind-safe scales (sequential, diverging) and colour maths;
* ``picture`` — :class:`~playground.insight.picture.Picture` (RGBA + text
  alternative), tiled grids, the PNG encoder;
* ``filters`` / ``feature_maps`` — pictures of filters and of feature maps;
* ``results`` — confusion-matrix cells, probability bars, captions;
* ``draw`` / ``glyphs`` — drawing to predict: preprocessing per dataset, example digits;
* ``highlight`` — a small Python syntax highlighter for the code view.

docs/INSIGHT.md says how a view calls each one. Modules are imported where
used (no re-exports here), so a view nobody opens costs nothing at start-up.
"""
