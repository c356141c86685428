"""The API surfaces the emulator speaks, one package each, over one shared core.

* :mod:`emulator.api.read_v32` — Azure AI Vision Read v3.2 (and the Read container's routes);
* :mod:`emulator.api.document_intelligence` — Azure AI Document Intelligence ``prebuilt-read``
  (API 2024-11-30 under ``/documentintelligence``, 2023-07-31 under ``/formrecognizer``);
* :mod:`emulator.api.image_analysis` — Azure AI Vision Image Analysis 4.0, ``features=read``
  (synchronous, under ``/computervision``).

Each package owns its routes, request parsing, result shaping and error codes. Everything else
is the core, shared by all: jobs and their queue (:mod:`emulator.jobs`), the store and its
encryption (:mod:`emulator.store`), documents (:mod:`emulator.documents.formats`), the engine
(:mod:`emulator.engine`), the service's rules (:mod:`emulator.jobs.service`), keys, rate limits and
faults (:mod:`emulator.http.middleware`). :mod:`emulator.api.health`, :mod:`emulator.api.admin` and
:mod:`emulator.api.handlers` serve every API alike; :mod:`emulator.api.synchronous` answers a
job in the request that submitted it.
"""
