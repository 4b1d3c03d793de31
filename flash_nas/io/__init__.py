"""Files in and out: measurement tables (:mod:`.tables`: CSV/TSV, gzip, label scales) and
outputs written whole or not at all (:mod:`.outputs`), numbers in text (:mod:`.numbers`: the
one parser of a file's numbers), and JSON records (:mod:`.jsonfile`: one safe reader).

Room rule: imports :mod:`flash_nas.errors` only; every stage reads and writes through here.
"""
