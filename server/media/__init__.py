"""Camera and microphone over WebRTC (issue 13; docs/protocol.md, section "Media").

- ``sdp``: the checks an offer passes before any peer is made (pure).
- ``ports``: the UDP port range of the server's host candidates (aioice has no setting).
- ``recorder``: closed segments of a track, encoded off the event loop, stored as they close.
- ``peer``: the candidate's peer (snapshots, recordings, health) and the watchers' peers.
- ``hub``: the service the lifespan makes: the limit on peers, the threads, closing them all.
"""
