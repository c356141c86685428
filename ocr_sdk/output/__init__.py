"""What the SDK makes of a result: documents and views built from the pages that were read.

One module per kind of output, each built on the wire models (:mod:`ocr_sdk._models`) or on
the neutral pages of :mod:`ocr_sdk.output.text`, and never imported by the client itself:

* :mod:`~ocr_sdk.output.text`: what was read on a page, in a neutral form (the writers' input);
* :mod:`~ocr_sdk.output.markdown`: Markdown, shaped like Document Intelligence's;
* :mod:`~ocr_sdk.output.searchable_pdf`: the document with an invisible text layer (with
  ``_pdf_text``, ``_pdf_images``, ``_pdf_extra`` and ``_glyphless`` beneath it);
* :mod:`~ocr_sdk.output.notebook`: HTML summaries and polygons drawn over page images, behind
  ``Page`` and ``ReadResult``'s ``_repr_html_`` and ``draw``.

This package imports none of them: import the one you need. ``ocr_sdk.searchable_pdf``,
``ocr_sdk.markdown`` and ``ocr_sdk.page_text`` still re-export the public names.
"""
