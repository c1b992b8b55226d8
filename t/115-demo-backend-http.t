# The demo backend's own HTTP/1.1 server (conf_examples/pipelined_http.py),
# spoken to directly: pipelined requests answered in order, chunked bodies,
# Connection: close and HTTP/1.0, and the bad requests each answered with
# the status that names the fault, then the connection closed.
use Test::NgxWs;
use Test::More;
use IO::Socket::INET;
use IO::Select;
use Test::NgxWs::Strace;

my $port = test_port();

my $pid = start_demo_backend($port, repo_root() . '/t/servroot/115-demo-backend.log');
ok($pid, 'the demo backend listens');

# Sends $bytes at once and reads until the server closes or is quiet for
# $quiet seconds; returns what came back and whether it closed.
sub exchange {
    my ($bytes, $quiet) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
    print {$s} $bytes;
    my ($got, $closed) = ('', 0);
    my $sel = IO::Select->new($s);
    while ($sel->can_read($quiet // 1)) {
        my $n = sysread($s, my $buf, 65536);
        if (!$n) { $closed = 1; last }
        $got .= $buf;
    }
    return ($got, $closed);
}

sub statuses { [ $_[0] =~ m{HTTP/1\.1 (\d{3}) }g ] }

sub post {
    my ($path, $body, @headers) = @_;
    return "POST $path HTTP/1.1\r\nHost: backend\r\n"
         . join('', map { "$_\r\n" } @headers)
         . "Content-Length: " . length($body) . "\r\n\r\n$body";
}

{
    my ($got, $closed) = exchange(
        post('/chat/message', 'buy spam now', 'WS-Connection-Id: 7')
        . post('/chat/message', '/me waves', 'WS-Connection-Id: 7')
        . post('/chat/message', 'hello', 'WS-Connection-Id: 7')
        . "GET /connect HTTP/1.1\r\nWS-Connection-Id: 7\r\n\r\n");
    is_deeply(statuses($got), [403, 200, 304, 204],
              'four pipelined requests answered in the order asked');
    like($got, qr/\r\n\r\nnot sent: this room does not take spamHTTP/,
         'the refusal carries its reason as the body');
    like($got, qr/Content-Length: 9\r\n\r\n\* 7 waves/, 'the action is rewritten');
    ok(!$closed, 'the connection stays open after them');
}

{
    my ($got, $closed) = exchange(
        "POST /chat/message HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        . "WS-Connection-Id: 8\r\n\r\n4\r\n/me \r\n5;ext=1\r\nwaves\r\n0\r\n"
        . "Trailer-Field: x\r\n\r\n");
    like($got, qr{^HTTP/1\.1 200 .*\r\n\r\n\* 8 waves$}s,
         'a chunked body with an extension and a trailer is read whole');
}

{
    # a request split across writes is answered once it is whole
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die;
    my $req = post('/chat/message', '/me waves', 'WS-Connection-Id: 9');
    for my $piece (unpack '(a7)*', $req) { print {$s} $piece; $s->flush; select undef, undef, undef, 0.01 }
    my $sel = IO::Select->new($s);
    my $got = '';
    while ($got !~ /\* 9 waves/ && $sel->can_read(3)) { sysread($s, $got, 65536, length $got) or last }
    like($got, qr{^HTTP/1\.1 200 }, 'a request sent seven bytes at a time is answered');
}

{
    my ($got, $closed) = exchange(
        "GET /connect HTTP/1.1\r\nConnection: close\r\n\r\n"
        . "GET /connect HTTP/1.1\r\n\r\n", 3);
    is_deeply(statuses($got), [204], 'nothing is answered after Connection: close');
    like($got, qr/Connection: close/, 'the answer says it closes');
    ok($closed, 'and the connection is closed');

    ($got, $closed) = exchange("GET /connect HTTP/1.0\r\n\r\n", 3);
    is_deeply([statuses($got), $closed], [[204], 1], 'HTTP/1.0 without keep-alive closes');
    ($got, $closed) = exchange("GET /connect HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    is_deeply([statuses($got), $closed], [[204], 0], 'HTTP/1.0 with keep-alive stays open');
}

{
    my ($got) = exchange("GET /nowhere HTTP/1.1\r\n\r\n");
    is_deeply(statuses($got), [404], 'an unknown route is 404');
    ($got) = exchange(post('/close', '{not json'));
    is_deeply(statuses($got), [500], 'a route that fails is 500 for that request');
    ($got) = exchange(post('/close', '{not json') . "GET /connect HTTP/1.1\r\n\r\n");
    is_deeply(statuses($got), [500, 204], 'and the connection goes on');
}

for my $case (
    ['a request line that is not one', "GARBAGE\r\n\r\n", 400],
    ['an unknown version', "GET / HTTP/2.0\r\n\r\n", 505],
    ['a space before a colon', "GET /connect HTTP/1.1\r\nHost : x\r\n\r\n", 400],
    ['a folded header line', "GET /connect HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400],
    ['a Content-Length that is no number', "POST /close HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400],
    ['a Content-Length in digits of another script', "POST /close HTTP/1.1\r\nContent-Length: \xb2\r\n\r\n", 400],
    ['a chunk size with a sign', "POST /close HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n+1\r\na\r\n0\r\n\r\n", 400],
    ['two different Content-Lengths', "POST /close HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400],
    ['a body over 1 MiB', "POST /close HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413],
    ['a chunked body over 1 MiB', "POST /close HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n", 413],
    ['a chunk size that is no number', "POST /close HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
    ['a chunk without its CRLF', "POST /close HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", 400],
    ['a transfer coding other than chunked', "POST /close HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501],
    ['both a length and chunked', "POST /close HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400],
    ['a head over 16 KiB', "GET /connect HTTP/1.1\r\nX: " . ('a' x 17000), 431],
) {
    my ($name, $bytes, $status) = @$case;
    my ($got, $closed) = exchange($bytes . "GET /connect HTTP/1.1\r\n\r\n", 3);
    is_deeply(statuses($got), [$status], "$name: $status, and the request after it is not read");
    ok($closed, "$name: the connection is closed");
}

# The answers to the requests of one read go out in one write: strace
# follows the backend (one thread) while four pipelined requests arrive
# in one segment.
SKIP: {
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
    my $trace = Test::NgxWs::Strace->follow($pid, 'write,writev,sendto,sendmsg')
        or skip $Test::NgxWs::Strace::why_not, 2;
    print {$s} join '', map { post('/chat/message', "line $_", 'WS-Connection-Id: 5') } 1 .. 4;
    my ($got, $sel) = ('', IO::Select->new($s));
    while (@{ statuses($got) } < 4 && $sel->can_read(5)) { sysread($s, $got, 65536, length $got) or last }
    is_deeply(statuses($got), [304, 304, 304, 304], 'four pipelined requests answered');
    my @writes = grep { /^(write|writev|sendto|sendmsg)\(\d+,.*=\s*\d+/ } $trace->stop;
    is(scalar @writes, 1, 'their answers went out in one write')
        or diag join "\n", @writes;
}

{
    my ($got) = exchange("GET /connect HTTP/1.1\r\n\r\n");
    is_deeply(statuses($got), [204], 'the backend still answers after all that');
}

done_testing();
