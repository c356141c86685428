"""Azure AI Vision Image Analysis 4.0, ``features=read``: the same engine behind one
synchronous call (``POST /computervision/imageanalysis:analyze``)."""
