"""TV boards: the read model of a hall's lobby screen and the live event hub.

- `state`: the board's state built from the database (`board_state`), the filters of a
  board limited to some counters or services, and the enrichment of each event
  (spoken text, counter name) before it is fanned out.
- `hub`: who listens to which hall in this process, sequence numbers, one fan-out
  thread per process, and the fan-outs (in-process, Redis pub/sub).
- `speech`, `audio`: Indonesian number words and the call sentence; espeak-ng WAVs.
- `setup`: wiring a worker (hub, fan-out, publisher behind `app.events`) and the hooks
  gunicorn calls.

The pages and the websocket that serve boards live in `app.views.boards`.
"""
