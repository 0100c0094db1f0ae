"""Importing contacts and opt-outs from CSV and XLSX files.

- `reading`: what the file is (CSV or XLSX, encoding, delimiter, header) and its rows, streamed.
- `mapping`: which column feeds the phone, the name, or a contact field, guessed from headers.
- `shaping`: the per-row check (phone normalized, values measured) and the COPY text.
- `engine`: rows → normalized staging table → dry-run figures → one-transaction apply.
- `services`: the state changes of a ContactImport, called by views, tasks and the command;
  `selectors`: the reads of the import pages.
"""
