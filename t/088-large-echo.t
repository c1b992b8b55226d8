# Echo of messages the core reassembles (over several reads or frames):
# a reply over 64 KiB is built in the core's own buffer, which the output
# queue then owns. Every reply must be the message, byte for byte, with
# small and large messages alternating on one connection (the core starts
# a new buffer after each one handed over), text and binary, single frames
# trickled in pieces and fragmented ones, and through permessage-deflate
# (the compressor reads the handed-over frame).
use Test::NgxWs;
use Test::More;
use Compress::Raw::Zlib;
use Time::HiRes qw(sleep);

# A payload of n bytes that shows a shifted or repeated block.
sub pattern {
    my ($n, $seed) = @_;
    my $block = join '', map { chr(($seed * 31 + $_ * 7) & 0xff) } 0 .. 250;
    return substr($block x (int($n / 251) + 1), 0, $n);
}

# Valid UTF-8 of about n bytes with 2-, 3- and 4-byte sequences.
sub utf8_text {
    my ($n) = @_;
    my $unit = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";   # 11 bytes
    return $unit x int($n / 11);
}

# A frame sent in pieces, with pauses, so the server reads it in several
# reads and reassembles it.
sub send_trickled {
    my ($ws, %f) = @_;
    my $bytes = Test::NgxWs::Client::encode_frame(%f);
    my $piece = 50_000;
    for (my $at = 0; $at < length $bytes; $at += $piece) {
        $ws->send_raw(substr($bytes, $at, $piece));
        sleep 0.01;
    }
}

sub expect_echo {
    my ($ws, $op, $payload, $name) = @_;
    my $m = $ws->read_message;
    ok($m, "$name - a reply") or return;
    is($m->{op}, $op, "$name - $op");
    is(length $m->{payload}, length $payload, "$name - length");
    ok($m->{payload} eq $payload, "$name - the same bytes");
}

{
    my $name = 'large and small messages alternate';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    location /ws { ws_listen; ws_echo on; }
CONF
    my $ws = ws_connect(uri => '/ws');

    my $mib = pattern(1024 * 1024, 1);
    send_trickled($ws, op => 2, payload => $mib);
    expect_echo($ws, 'binary', $mib, "$name: 1 MiB in pieces");

    $ws->send_binary('small after large');
    expect_echo($ws, 'binary', 'small after large', "$name: a small one");

    my $text = utf8_text(200_000);
    my $third = 66_000;          # cuts inside a multi-byte sequence
    $ws->send_frame(op => 1, fin => 0, payload => substr($text, 0, $third));
    $ws->send_frame(op => 0, fin => 0,
                    payload => substr($text, $third, $third));
    $ws->send_frame(op => 0, payload => substr($text, 2 * $third));
    expect_echo($ws, 'text', $text, "$name: fragmented UTF-8 text");

    my $just_over = pattern(65536, 2);
    send_trickled($ws, op => 2, payload => $just_over);
    expect_echo($ws, 'binary', $just_over, "$name: 64 KiB in pieces");

    my $just_under = pattern(65535, 3);
    send_trickled($ws, op => 2, payload => $just_under);
    expect_echo($ws, 'binary', $just_under, "$name: 64 KiB - 1 in pieces");

    # a ping between the fragments of a large message
    my $big = pattern(300_000, 4);
    $ws->send_frame(op => 2, fin => 0, payload => substr($big, 0, 100_000));
    $ws->send_ping('between');
    $ws->send_frame(op => 0, payload => substr($big, 100_000));
    $ws->expect('pong between', "$name: the ping's pong");
    expect_echo($ws, 'binary', $big, "$name: around a ping");

    # several large messages in one write: replies queued together
    my @many = map { pattern(100_000 + $_, 10 + $_) } 1 .. 3;
    $ws->send_raw(join '', map {
        Test::NgxWs::Client::encode_frame(op => 2, payload => $_) } @many);
    expect_echo($ws, 'binary', $_, "$name: one of three in a row") for @many;

    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    check_logs($ngx);
}

{
    my $name = 'large messages through permessage-deflate';
    my $ngx = start_nginx(name => $name, config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
CONF
    my $ws = ws_connect(uri => '/ws',
        headers => "Sec-WebSocket-Extensions: permessage-deflate\n");
    is($ws->{response}{header}{'sec-websocket-extensions'},
       'permessage-deflate', "$name - agreed");
    my ($inf) = Compress::Raw::Zlib::Inflate->new(-WindowBits => -15,
        -AppendOutput => 0, -ConsumeInput => 1, -LimitOutput => 0);

    for my $round (1 .. 2) {
        my $text = utf8_text(300_000);
        send_trickled($ws, op => 1, payload => $text);
        my $f = $ws->read_frame;
        ok($f && $f->{rsv} == 4, "$name #$round - compressed") or next;
        my $in = $f->{payload} . "\x00\x00\xff\xff";
        my $out;
        $inf->inflate($in, $out);
        ok(defined $out && $out eq $text, "$name #$round - inflates to it");
    }

    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    check_logs($ngx);
}

done_testing();
