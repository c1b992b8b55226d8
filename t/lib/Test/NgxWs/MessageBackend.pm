package Test::NgxWs::MessageBackend;

# The message hook's Node backend of the answer tests:
# t/lib/message_backend.js (Node's http, keepalive) on a port of the test
# file's own. Each message a test client sends is the JSON instruction
# for the answer its own call gets, so one connection can try every kind
# of answer in turn; order() writes one.
#
#     my $node = Test::NgxWs::MessageBackend->start(port => $nport);
#     $ws->send_text(order(status => 200, body => 'replaced'));
#     like(metrics($port), qr/.../);   # the server's ws_status at /metrics
#     publish($port, 'news', 'n1');      # its ws_publisher at /pub/<channel>

use strict;
use warnings;
use Exporter 'import';
use JSON::PP qw(encode_json);
use Test::More;

our @EXPORT = qw(order metrics publish);

my @started;

sub start {
    my ($class, %args) = @_;
    my $self = bless {}, $class;
    pipe(my $out, my $in) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $out;
        open STDOUT, '>&', $in or die $!;
        exec 'node', Test::NgxWs::repo_root() . '/t/lib/message_backend.js', $args{port};
        die "exec node: $!";
    }
    close $in;
    $self->{pid} = $pid;
    push @started, $pid;
    is(scalar <$out>, "listening\n", 'the Node backend listens');
    return $self;
}

# The answer a message's own call gets: status, headers, body, delay_ms...
sub order { encode_json({@_}) }

# The nginx under test's ws_status, served at /metrics on $port.
sub metrics {
    my ($port) = @_;
    return Test::NgxWs::http_request(port => $port, raw =>
        "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")->{body};
}

# A message published with the nginx under test's ws_publisher, served at
# /pub/<channel> on $port: the response.
sub publish {
    my ($port, $channel, $body) = @_;
    return Test::NgxWs::http_request(port => $port, raw =>
        "POST /pub/$channel HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
}

END {
    local $?;
    for my $pid (@started) {
        kill 'TERM', $pid;
        waitpid $pid, 0;
    }
}

1;
