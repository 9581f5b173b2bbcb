"""nbclient's stand-in for the ipywidgets ``Output`` front end, sending on the asyncio socket.

Why: :mod:`facelab.course.notebooks` (module docstring). Imported only when a notebook runs, since it
imports nbclient.
"""

from __future__ import annotations

import zmq.asyncio
from nbclient.jsonutil import json_clean
from nbclient.output_widget import OutputWidget as _NbclientOutputWidget

__all__ = ["OutputWidget"]


class OutputWidget(_NbclientOutputWidget):
    """nbclient's ``OutputWidget`` with its comm messages sent through the shell channel's asyncio
    socket instead of ``Session.send``'s blocking shadow of it.

    A send on the asyncio socket makes pyzmq look again for messages that arrived meanwhile and
    wake whoever waits on the socket (here nbclient, for the cell's ``execute_reply``); a send on
    the shadow socket consumes the same edge-triggered wake-up without telling anyone.
    """

    def _publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        socket = self.kernel_client.shell_channel.socket
        if not isinstance(socket, zmq.asyncio.Socket):  # a blocking client has no waiter to lose
            return super()._publish_msg(msg_type, data=data, metadata=metadata, buffers=buffers, **keys)
        session = self.kernel_client.session
        content = json_clean(dict(data={} if data is None else data, comm_id=self.comm_id, **keys))
        msg = session.msg(msg_type, content=content, parent=self.parent_header,
                          metadata={} if metadata is None else metadata)
        # A Future, done at once unless the socket is full; pyzmq then sends it in order.
        socket.send_multipart(session.serialize(msg) + list(buffers or []))
