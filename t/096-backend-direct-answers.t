# Every answer of a message hook (t/053's cases: replace, keep, drop,
# refuse, fail, WS-Subscribe, WS-Unsubscribe, WS-Publish, WS-Close,
# WS-Opcode, the failure log and /metrics) through the direct client:
# "ws_backend_message http://hooks/message" goes to the upstream{} group
# "hooks" (the same Node backend) without a location or a subrequest.
use strict;
use warnings;

our $message_hook = 'http://hooks/message';

my $file = __FILE__;
$file =~ s{096-backend-direct-answers\.t$}{053-backend-answers.t};

do "./$file" or die($@ || $! || "$file returned false");
