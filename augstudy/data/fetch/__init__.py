"""Download, verify and unpack the public datasets augstudy knows.

``fetch_dataset("tiny-imagenet", root="data")`` ends with ``data/tiny-imagenet-200/`` complete, or
with nothing new under ``data/`` except a resumable ``data/.downloads/<file>.part``:

1. An existing complete dataset is never touched (status ``"already-present"``); an existing
   incomplete one is an error, also left untouched.
2. Each file streams with urllib into ``<root>/.downloads/<file>.part``.  An interrupted download
   resumes with an HTTP ``Range`` request (automatically up to ``retries`` times, and again on the
   next run); a server that ignores ``Range`` (answers 200) makes us restart the file cleanly.
3. The finished file is checked against the checksum recorded in :data:`DATASETS` (sha256 where
   published, otherwise the published md5, and the size); ``sha256=`` overrides it for a mirror.
   A mismatch deletes the download and raises a one-line :class:`UserError`.
4. The archive is extracted into a hidden staging folder beside the target
   (``<root>/.<folder>.<random>.staging``) and renamed into place in one ``os.replace``, so a
   crash or kill leaves no half dataset under the real name.  Leftover staging folders are
   removed by the next fetch of the same dataset.

``source=`` (the CLI's ``--from``) takes a local archive, a local folder (copied) or a mirror URL.
For ``fashion-mnist`` the Debian copy at ``/usr/share/datasets/fashion-mnist`` is used
automatically when present.  Fashion-MNIST's four ``.gz`` IDX files are kept compressed (the
layout Debian ships and the loader reads); "extracting" them means checking each gzip stream's
CRC and IDX header.
"""

from augstudy.data.fetch.download import download_file
from augstudy.data.fetch.install import FetchResult, extract_archive, fetch_dataset
from augstudy.data.fetch.registry import (DATASETS, DatasetSource, RemoteFile, dataset_names, dataset_source,
                                          missing_required)
from augstudy.data.fetch.verify import file_digests, verify_file

__all__ = [
    "DATASETS", "DatasetSource", "RemoteFile", "FetchResult", "fetch_dataset", "dataset_names",
    "dataset_source", "download_file", "verify_file", "extract_archive", "missing_required", "file_digests",
]
