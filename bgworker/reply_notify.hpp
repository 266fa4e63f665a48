// Sending the notifications of the replies a mailbox worker's drain transaction committed.
#pragma once

namespace spawn {

// Sends the notifications of the replies the worker's last drain transaction committed, in a
// short transaction of their own (src/reply_notices.hpp); nothing when there are none.
void SendReplyNotices();

}  // namespace spawn
