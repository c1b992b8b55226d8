# permessage-deflate (RFC 7692): negotiation answers on the raw handshake,
# RSV1 rules, corrupt data, the zip bomb, compressed output (context
# takeover, window bits, shared frames for channel subscribers) checked by
# inflating the server's frames here, and compressed echo with Python
# websockets, Node ws and headless Chromium, which all offer the extension.
use Test::NgxWs;
use Test::More;
use Compress::Raw::Zlib;
use File::Temp ();

my $root = repo_root();
my $port = test_port();

# A raw inflater (negative window bits: no zlib header) for the server's
# messages, which end without the 0x00 0x00 0xff 0xff of the sync flush.
sub inflater {
    my ($bits) = @_;
    my ($i, $st) = Compress::Raw::Zlib::Inflate->new(
        -WindowBits => -($bits // 15), -AppendOutput => 0,
        -ConsumeInput => 1, -LimitOutput => 0);
    die "inflater: $st" unless $i;
    return $i;
}

sub inflate_message {
    my ($inf, $payload) = @_;
    my $in = $payload . "\x00\x00\xff\xff";
    my $out;
    my $st = $inf->inflate($in, $out);
    return undef unless $st == Z_OK || $st == Z_BUF_ERROR;
    return $out // '';
}

# Compresses as a client would (one message, sync flush, tail removed).
sub deflate_message {
    my ($data, %opt) = @_;
    my ($d, $st) = Compress::Raw::Zlib::Deflate->new(
        -WindowBits => -15, -Level => $opt{level} // 6, -AppendOutput => 1);
    my $out = '';
    $d->deflate($data, $out);
    $d->flush($out, Z_SYNC_FLUSH);
    $out =~ s/\x00\x00\xff\xff\z// or die 'no sync flush tail';
    return $out;
}

# Pseudo-random lower-case letters, the same on every run: data with no
# repeat shorter than itself, so that a copy of it placed N bytes later can
# only be compressed by a back-reference of distance N.
sub random_letters {
    my ($n, $seed) = @_;
    my $x = $seed // 1;
    return join '', map {
        $x = ($x * 1103515245 + 12345) % 2**31;
        chr(97 + ($x >> 16) % 26)
    } 1 .. $n;
}

# Words in a pseudo-random order: text that compresses well, but where a
# level-9 search for the longest match beats level 1's first match.
sub random_words {
    my ($n) = @_;
    my @w = qw(the quick brown fox jumps over lazy dog message channel user
               alice bob hello world server client compress deflate window
               level memory);
    my $x = 7;
    return join ' ', map {
        $x = ($x * 1103515245 + 12345) % 2**31;
        $w[($x >> 16) % @w] . (($x >> 8) % 100)
    } 1 .. $n;
}

# A client's compressor, whose window carries over from message to message
# (context takeover); returns a sub compressing one message as on the wire.
sub client_deflater {
    my ($bits) = @_;
    my ($d, $st) = Compress::Raw::Zlib::Deflate->new(
        -WindowBits => -$bits, -Level => 6, -AppendOutput => 1);
    die "deflater: $st" unless $d;
    return sub {
        my $out = '';
        $d->deflate($_[0], $out);
        $d->flush($out, Z_SYNC_FLUSH);
        $out =~ s/\x00\x00\xff\xff\z// or die 'no sync flush tail';
        return $out;
    };
}

# Inflates the server's messages with a window of 2^$bits bytes and fails
# on any reference farther back (see t/inflate_within_window.py: zlib alone
# does not check that within one call). One inflater for all the messages,
# or a new one for each with fresh => 1. Returns the messages, or
# "error: ..." for one that could not be inflated.
sub inflate_within_window {
    my ($bits, $payloads, %opt) = @_;
    my ($fh, $file) = File::Temp::tempfile(UNLINK => 1);
    print $fh map { unpack('H*', $_) . "\n" } @$payloads;
    close $fh;
    my $cmd = "/usr/bin/python3 $root/t/inflate_within_window.py $bits"
            . ($opt{fresh} ? ' --fresh' : '') . " < $file";
    my @out = map { chomp; /^error/ ? $_ : pack('H*', $_) } `$cmd`;
    return @out;
}

sub chat_json {
    my ($n) = @_;
    return join '', map {
        qq({"op":"message","channel":"room:lobby","seq":$_,)
        . qq("data":{"user":"alice","text":"hello everyone, how is it going?"}})
    } 1 .. $n;
}

sub read_data_frame {
    my ($ws, $name) = @_;
    my $f = $ws->read_frame;
    ok($f && $f->{op} >= 1 && $f->{op} <= 2, "$name - a data frame")
        or return undef;
    return $f;
}

my $deflate_echo = <<'CONF';
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
CONF

{
    my $name = 'server messages are compressed, with context takeover';
    my $ngx = start_nginx(name => $name, config => $deflate_echo);
    my $ws = ws_connect(uri => '/ws',
        headers => "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\n");
    is($ws->{response}{header}{'sec-websocket-extensions'}, 'permessage-deflate',
       "$name - agreed");
    my $msg = chat_json(40);
    my $inf = inflater(15);
    my @sizes;
    for my $round (1 .. 2) {
        $ws->send_text($msg);
        my $f = read_data_frame($ws, "$name #$round") or last;
        is($f->{rsv}, 4, "$name #$round - RSV1 set");
        is(inflate_message($inf, $f->{payload}), $msg,
           "$name #$round - inflates to the message");
        push @sizes, length $f->{payload};
    }
    note("message " . length($msg) . " bytes, compressed @sizes");
    cmp_ok($sizes[0], '<', length($msg) / 5, "$name - JSON shrinks over 5x");
    # (a match is at most 258 bytes: the repeat costs a few bytes per 258)
    cmp_ok($sizes[1], '<', $sizes[0] / 2,
           "$name - the repeat refers back into the window");
    # Below ws_deflate_min_size (64) messages go out plain.
    $ws->send_text('short');
    my $f = read_data_frame($ws, "$name short");
    is($f && $f->{rsv}, 0, "$name - a short message is not compressed");
    is($f && $f->{payload}, 'short', "$name - and arrives as sent");
    # A compressed message from the client, echoed compressed.
    $ws->send_frame(op => 1, rsv => 4, payload => deflate_message($msg));
    $f = read_data_frame($ws, "$name compressed echo");
    is($f && inflate_message($inf, $f->{payload}), $msg,
       "$name - a compressed client message is inflated and echoed");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    check_logs($ngx);
}

{
    my $name = 'server_no_context_takeover and a 9-bit window';
    my $ngx = start_nginx(name => $name, config => $deflate_echo);
    my $ws = ws_connect(uri => '/ws', headers => "Sec-WebSocket-Extensions: "
        . "permessage-deflate; server_no_context_takeover; server_max_window_bits=9\n");
    is($ws->{response}{header}{'sec-websocket-extensions'},
       'permessage-deflate; server_no_context_takeover; server_max_window_bits=9',
       "$name - agreed");
    # Repeats 2 KiB apart: a compressor ignoring the 512-byte window would
    # refer back beyond it and break a 9-bit inflater.
    my $msg = random_letters(2048) x 3;
    my @payloads;
    for my $round (1 .. 2) {
        $ws->send_text($msg);
        my $f = read_data_frame($ws, "$name #$round") or last;
        is($f->{rsv}, 4, "$name #$round - RSV1 set");
        push @payloads, $f->{payload};
    }
    # a fresh inflater each time: no context carried over
    my @got = inflate_within_window(9, \@payloads, fresh => 1);
    for my $round (1 .. 2) {
        ok(($got[$round - 1] // '') eq $msg,
           "$name #$round - inflates with a 9-bit window and no history")
            or diag(substr $got[$round - 1] // 'nothing', 0, 80);
    }
    is($payloads[0], $payloads[1], "$name - every message compressed alone");
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    check_logs($ngx);
}

{
    my $name = 'zip bomb';
    my $ngx = start_nginx(name => $name, log_level => 'info', config => <<'CONF');
    location /ws { ws_listen; ws_echo on; ws_deflate on; ws_max_message_size 64k; }
CONF
    my $ws = ws_connect(uri => '/ws',
        headers => "Sec-WebSocket-Extensions: permessage-deflate\n");
    my $bomb = deflate_message("\0" x (20 * 1024 * 1024), level => 9);
    note('20 MiB of zeros compress to ' . length($bomb) . ' bytes');
    cmp_ok(length $bomb, '<', 64 * 1024, "$name - the frame itself is within limits");
    $ws->send_frame(op => 2, rsv => 4, payload => $bomb);
    $ws->expect('close 1009', $name);
    $ws->expect_eof($name);
    ok(wait_for(sub { $ngx->error_log =~
        /\*\d+ ws: protocol error: message too large when inflated, closing with 1009/ }, 5),
       "$name - logged with the connection id");
    check_logs($ngx);
}

{
    my $name = 'channel subscribers share one compressed frame';
    my $ngx = start_nginx(name => $name, http_config => 'ws_zone test 1m;',
        config => <<'CONF');
    location = /sub { ws_listen; ws_subscribe news; ws_deflate on; }
    location = /pub { ws_publisher news; }
    location = /json {
        ws_listen; ws_protocol json; ws_channels_allow news; ws_deflate on;
    }
CONF
    my $nct = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\n";
    my @shared = map { ws_connect(uri => '/sub', headers => $nct) } 1 .. 3;
    my $own = ws_connect(uri => '/sub',
        headers => "Sec-WebSocket-Extensions: permessage-deflate\n");
    my $plain = ws_connect(uri => '/sub');
    my $json = ws_connect(uri => '/json', headers => $nct);
    $json->send_text('{"op":"subscribe","channel":"news","id":1}');
    $json->expect('text {"op":"ack","id":1}', "$name - JSON subscriber joins");
    my $msg = chat_json(30);
    for my $round (1 .. 2) {
        my $res = http_request(port => $port, raw => "POST /pub HTTP/1.1\r\n"
            . "Host: localhost\r\nConnection: close\r\nContent-Type: text/plain\r\n"
            . "Content-Length: " . length($msg) . "\r\n\r\n$msg");
        like($res->{status}, qr/^20[0-9]$/, "$name #$round - published");
    }
    my $own_inf = inflater(15);
    my @frames;
    for my $i (0 .. $#shared) {
        for my $round (1 .. 2) {
            my $f = read_data_frame($shared[$i], "$name shared $i #$round") or next;
            is($f->{rsv}, 4, "$name shared $i #$round - compressed");
            is(inflate_message(inflater(15), $f->{payload}), $msg,
               "$name shared $i #$round - inflates alone");
            push @frames, $f->{payload};
        }
    }
    is(scalar(grep { $_ eq $frames[0] } @frames), 6,
       "$name - all 6 frames to no-context-takeover subscribers are the same bytes");
    my @own_sizes;
    for my $round (1 .. 2) {
        my $f = read_data_frame($own, "$name own #$round") or next;
        is(inflate_message($own_inf, $f->{payload}), $msg,
           "$name own #$round - inflates in its own context");
        push @own_sizes, length $f->{payload};
    }
    cmp_ok($own_sizes[1], '<', $own_sizes[0] / 2,
           "$name - the context-takeover subscriber's second frame refers back");
    for my $round (1 .. 2) {
        my $f = read_data_frame($plain, "$name plain #$round") or next;
        ok($f->{rsv} == 0 && $f->{payload} eq $msg,
           "$name plain #$round - a client without deflate gets plain text");
    }
    (my $escaped = $msg) =~ s/(["\\])/\\$1/g;  # a text body is a JSON string there
    for my $round (1 .. 2) {
        my $f = read_data_frame($json, "$name json #$round") or next;
        is($f->{rsv}, 4, "$name json #$round - the envelope is compressed");
        ok(inflate_message(inflater(15), $f->{payload}) eq
           qq({"op":"message","channel":"news","seq":$round,"data":"$escaped"}),
           "$name json #$round - and inflates to the envelope");
    }

    # Incompressible data: no-context-takeover subscribers get the plain
    # frame (smaller), the same for all; the takeover one must get it
    # compressed (its window has to see it).
    my $noise = join '', map { chr(int rand 256) } 1 .. 2000;
    my $res = http_request(port => $port, raw => "POST /pub HTTP/1.1\r\n"
        . "Host: localhost\r\nConnection: close\r\n"
        . "Content-Type: application/octet-stream\r\n"
        . "Content-Length: " . length($noise) . "\r\n\r\n$noise");
    like($res->{status}, qr/^20[0-9]$/, "$name noise - published");
    for my $i (0 .. $#shared) {
        my $f = read_data_frame($shared[$i], "$name noise shared $i") or next;
        ok($f->{rsv} == 0 && $f->{op} == 2 && $f->{payload} eq $noise,
           "$name noise shared $i - plain binary, unchanged");
    }
    my $f = read_data_frame($own, "$name noise own");
    ok($f && $f->{rsv} == 4 && inflate_message($own_inf, $f->{payload}) eq $noise,
       "$name noise own - compressed in its context, inflates unchanged");
    check_logs($ngx);
}

{
    my $name = 'real clients';
    my $port2 = $port + 1;
    my $ngx = start_nginx(name => $name, log_level => 'info',
        config => '    location /ws { ws_listen; ws_echo on; ws_deflate on; ws_max_message_size 2m; }',
        http_config => <<'CONF');
    server {
        listen 127.0.0.1:$port2 ssl;
        ssl_certificate cert.pem;
        ssl_certificate_key cert.key;
        location /ws { ws_listen; ws_echo on; ws_deflate on; ws_max_message_size 2m; }
    }
CONF
    my $ca = "$ngx->{prefix}/conf/cert.pem";
    my @urls = ("ws://127.0.0.1:$port/ws", "wss://127.0.0.1:$port2/ws");
    my $run = sub {
        my ($what, $cmd) = @_;
        my $out = run_bounded($cmd);
        my $rc = $? >> 8;
        note($out);
        ok($rc == 0 && $out =~ /negotiated \(permessage-deflate/, "$name - $what (exit $rc)")
            or diag(join "\n", grep { /FAILED|Error|Traceback/ } split /\n/, $out);
    };
    SKIP: {
        skip 'no /usr/bin/python3 with websockets', 1
            unless system('/usr/bin/python3 -c "import websockets" 2>/dev/null') == 0;
        $run->('python websockets',
               "/usr/bin/python3 $root/t/interop/python_deflate_client.py @urls --cafile $ca");
    }
    SKIP: {
        skip 'no node with ws', 1
            unless system('NODE_PATH=/usr/share/nodejs node -e "require(\'ws\')" 2>/dev/null') == 0;
        $run->('node ws',
               "NODE_PATH=/usr/share/nodejs node $root/t/interop/node_deflate_client.js @urls --cafile $ca");
    }
    my $node_path = $ENV{NGX_WS_NODE_PATH} // "$root/build/npm/node_modules";
    SKIP: {
        skip 'no playwright-core (make test-nginx installs it)', 1
            unless -d "$node_path/playwright-core";
        my $out = run_bounded("NODE_PATH=$node_path node $root/t/browser/deflate_echo.js ws://127.0.0.1:$port/ws");
        my $rc = $? >> 8;
        note($out);
        ok($rc == 0 && $out =~ /^extensions: permessage-deflate/m,
           "$name - chromium (exit $rc)") or diag($out);
    }
    check_logs($ngx);
}

# The compression directives, each checked on the compressed stream
# against a location that keeps the default: a directive that were read
# but not applied would make the two answers alike.
my $deflate_directives = <<'CONF';
    location /default { ws_listen; ws_echo on; ws_deflate on; }
    location /level9 { ws_listen; ws_echo on; ws_deflate on; ws_deflate_level 9; }
    location /mem1 { ws_listen; ws_echo on; ws_deflate on; ws_deflate_mem_level 1; }
    location /min1000 { ws_listen; ws_echo on; ws_deflate on; ws_deflate_min_size 1000; }
    location /nct {
        ws_listen; ws_echo on; ws_deflate on;
        ws_deflate_server_no_context_takeover on;
    }
    location /nct-level9 {
        ws_listen; ws_echo on; ws_deflate on;
        ws_deflate_server_no_context_takeover on; ws_deflate_level 9;
    }
    location /server-window9 {
        ws_listen; ws_echo on; ws_deflate on;
        ws_deflate_server_max_window_bits 9;
    }
    location /client-window9 {
        ws_listen; ws_echo on; ws_deflate on;
        ws_deflate_client_max_window_bits 9;
    }
CONF

# Connects to $uri offering permessage-deflate (with $params), echoes each
# message and returns the server's frames.
sub deflate_echo_frames {
    my ($uri, $params, @msgs) = @_;
    my $ws = ws_connect(uri => $uri, headers => "Sec-WebSocket-Extensions: "
                        . "permessage-deflate$params\n");
    my @frames;
    for my $msg (@msgs) {
        $ws->send_text($msg);
        push @frames, read_data_frame($ws, "$uri echo") // { rsv => -1, payload => '' };
    }
    $ws->send_close(1000);
    $ws->expect('close 1000', $uri, 1);
    return @frames;
}

{
    my $name = 'ws_deflate_level and ws_deflate_mem_level';
    my $ngx = start_nginx(name => $name, config => $deflate_directives);
    my $text = random_words(2000);
    my %size;
    for my $uri (qw(/default /level9 /mem1 /nct /nct-level9)) {
        my ($f) = deflate_echo_frames($uri, '', $text);
        ok($f->{rsv} == 4 && inflate_message(inflater(15), $f->{payload}) eq $text,
           "$name - $uri: compressed, inflates to the message");
        $size{$uri} = length $f->{payload};
    }
    note(length($text) . " bytes of text, compressed: "
         . join ', ', map { "$_ $size{$_}" } sort keys %size);
    # zlib here: about 8650 bytes at level 1, 7210 at level 9, 9980 at
    # level 1 with memLevel 1 (hash tables of 2^8 entries, blocks of 128
    # symbols)
    cmp_ok($size{'/level9'}, '<', $size{'/default'} * 0.9,
           "$name - level 9 compresses over 10% smaller than the default level 1");
    cmp_ok($size{'/nct-level9'}, '<', $size{'/nct'} * 0.9,
           "$name - and so does the worker's shared compressor at level 9");
    cmp_ok($size{'/mem1'}, '>', $size{'/default'} * 1.1,
           "$name - memLevel 1 compresses over 10% worse than the default 8");
    check_logs($ngx);
}

{
    my $name = 'ws_deflate_min_size 1000';
    my $ngx = start_nginx(name => $name, config => $deflate_directives);
    my $below = random_words(500);
    $below = substr($below, 0, 999);
    my $at = $below . 'x';
    my ($f_below, $f_at) = deflate_echo_frames('/min1000', '', $below, $at);
    ok($f_below->{rsv} == 0 && $f_below->{payload} eq $below,
       "$name - 999 bytes go out plain (RSV1 clear)");
    ok($f_at->{rsv} == 4 && inflate_message(inflater(15), $f_at->{payload}) eq $at,
       "$name - 1000 bytes go out compressed (RSV1 set)");
    my ($f_default) = deflate_echo_frames('/default', '', $below);
    is($f_default->{rsv}, 4, "$name - the same 999 bytes are compressed by default (64)");
    check_logs($ngx);
}

{
    my $name = 'ws_deflate_server_no_context_takeover on';
    my $ngx = start_nginx(name => $name, config => $deflate_directives);
    my $msg = chat_json(20);
    # the client does not ask for it: the server imposes it
    my $ws = ws_connect(uri => '/nct',
        headers => "Sec-WebSocket-Extensions: permessage-deflate\n");
    is($ws->{response}{header}{'sec-websocket-extensions'},
       'permessage-deflate; server_no_context_takeover', "$name - answered");
    $ws->disconnect;
    my @nct = deflate_echo_frames('/nct', '', $msg, $msg);
    ok($nct[0]{rsv} == 4 && $nct[0]{payload} eq $nct[1]{payload},
       "$name - the same message compresses to the same bytes twice");
    is(inflate_message(inflater(15), $nct[1]{payload}), $msg,
       "$name - the second inflates without the first");
    my @own = deflate_echo_frames('/default', '', $msg, $msg);
    cmp_ok(length $own[1]{payload}, '<', length($own[0]{payload}) / 2,
           "$name - by default the second refers back to the first");
    check_logs($ngx);
}

{
    my $name = 'ws_deflate_server_max_window_bits 9';
    my $ngx = start_nginx(name => $name, config => $deflate_directives);
    # each message repeats 2 KiB apart, and the second repeats the first
    my $msg = random_letters(2048) x 3;
    my $ws = ws_connect(uri => '/server-window9',
        headers => "Sec-WebSocket-Extensions: permessage-deflate\n");
    is($ws->{response}{header}{'sec-websocket-extensions'},
       'permessage-deflate; server_max_window_bits=9', "$name - answered");
    $ws->disconnect;
    my @small = deflate_echo_frames('/server-window9', '', $msg, $msg);
    my @got = inflate_within_window(9, [map { $_->{payload} } @small]);
    ok(@got == 2 && $got[0] eq $msg && $got[1] eq $msg,
       "$name - both messages inflate in one 512-byte window (context takeover)")
        or diag(map { substr($_, 0, 80) . "\n" } @got);
    # the same messages, compressed at the default window, cannot be: the
    # check above is a real one
    my @large = deflate_echo_frames('/default', '', $msg, $msg);
    @got = inflate_within_window(9, [map { $_->{payload} } @large]);
    like($got[0] // '', qr/^error: .*invalid distance too far back/,
         "$name - at the default window they refer farther back than 512 bytes");
    cmp_ok(length $small[0]{payload}, '>', length($large[0]{payload}) * 2,
           "$name - and the small window compresses less");
    check_logs($ngx);
}

{
    my $name = 'ws_deflate_client_max_window_bits 9';
    my $ngx = start_nginx(name => $name, log_level => 'info',
                          config => $deflate_directives);
    my $block = random_letters(2048);
    my $params = '; client_max_window_bits';
    # a client keeping to the 512-byte window it was given
    my $ws = ws_connect(uri => '/client-window9',
        headers => "Sec-WebSocket-Extensions: permessage-deflate$params\n");
    is($ws->{response}{header}{'sec-websocket-extensions'},
       'permessage-deflate; client_max_window_bits=9', "$name - answered");
    my $deflate = client_deflater(9);
    my $inf = inflater(15);    # of the server's echo, context takeover
    for my $round (1 .. 2) {
        $ws->send_frame(op => 1, rsv => 4, payload => $deflate->($block));
        my $f = read_data_frame($ws, "$name within #$round");
        is($f && inflate_message($inf, $f->{payload}), $block,
           "$name - a client within the window is inflated #$round");
    }
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    # A client that compresses with a 32 KiB window anyway: its second
    # message refers 2 KiB back into the first, beyond the server's
    # decompressor window (sized by the directive), so it cannot be read.
    $ws = ws_connect(uri => '/client-window9',
        headers => "Sec-WebSocket-Extensions: permessage-deflate$params\n");
    $deflate = client_deflater(15);
    $ws->send_frame(op => 1, rsv => 4, payload => $deflate->($block));
    my $f = read_data_frame($ws, "$name beyond #1");
    is($f && inflate_message(inflater(15), $f->{payload}), $block,
       "$name - the first message has nothing to refer back to");
    $ws->send_frame(op => 1, rsv => 4, payload => $deflate->($block));
    $ws->expect('close 1007', "$name - a reference beyond 512 bytes");
    $ws->expect_eof($name);
    # the same client, where the window stays 15 bits, is served
    $ws = ws_connect(uri => '/default',
        headers => "Sec-WebSocket-Extensions: permessage-deflate$params\n");
    $deflate = client_deflater(15);
    $inf = inflater(15);
    for my $round (1 .. 2) {
        $ws->send_frame(op => 1, rsv => 4, payload => $deflate->($block));
        my $f = read_data_frame($ws, "$name default #$round");
        is($f && inflate_message($inf, $f->{payload}), $block,
           "$name - at the default window it is inflated #$round");
    }
    $ws->send_close(1000);
    $ws->expect('close 1000', $name);
    check_logs($ngx);
}

# The directives at `nginx -t`: documented forms pass, bad values fail
# with a message naming the directive.
{
    use File::Path qw(make_path remove_tree);
    my $prefix = "$root/t/servroot/019-deflate-config";
    my $nginx_t = sub {
        my ($location_body) = @_;
        remove_tree($prefix);
        make_path("$prefix/conf", "$prefix/logs");
        open my $fh, '>', "$prefix/conf/nginx.conf" or die $!;
        print $fh "load_module ${\ module_path()};\npid logs/nginx.pid;\n"
            . "error_log logs/error.log;\nevents {}\nhttp {\n"
            . join('', map { "    ${_}_temp_path $prefix/$_;\n" }
                           qw(client_body proxy fastcgi uwsgi scgi))
            . "    access_log off;\n    server {\n"
            . "        listen 127.0.0.1:$port;\n"
            . "        location /ws { $location_body }\n    }\n}\n";
        close $fh;
        my $out = `${\ nginx_bin()} -t -p $prefix/ -c conf/nginx.conf 2>&1`;
        return ($? >> 8, $out);
    };
    for my $good ('ws_listen; ws_deflate on;',
                  'ws_listen; ws_deflate off; ws_max_message_size 0;',
                  'ws_listen; ws_deflate on; ws_deflate_server_max_window_bits 9; '
                  . 'ws_deflate_client_max_window_bits 8; ws_deflate_level 9; '
                  . 'ws_deflate_mem_level 1; ws_deflate_min_size 0; '
                  . 'ws_deflate_server_no_context_takeover on;') {
        my ($rc, $out) = $nginx_t->($good);
        is($rc, 0, "nginx -t accepts: $good") or diag($out);
    }
    my @bad = (
        ['ws_listen; ws_deflate maybe;',
         qr/invalid value "maybe" in "ws_deflate" directive/],
        ['ws_listen; ws_deflate_server_max_window_bits 8;',
         qr/"ws_deflate_server_max_window_bits" directive must be between 9 and 15/],
        ['ws_listen; ws_deflate_server_max_window_bits 16;',
         qr/"ws_deflate_server_max_window_bits" directive must be between 9 and 15/],
        ['ws_listen; ws_deflate_client_max_window_bits 7;',
         qr/"ws_deflate_client_max_window_bits" directive must be between 8 and 15/],
        ['ws_listen; ws_deflate_level 0;',
         qr/"ws_deflate_level" directive must be between 1 and 9/],
        ['ws_listen; ws_deflate_level fast;',
         qr/"ws_deflate_level" directive invalid number/],
        ['ws_listen; ws_deflate_mem_level 10;',
         qr/"ws_deflate_mem_level" directive must be between 1 and 9/],
        ['ws_listen; ws_deflate_min_size lots;',
         qr/"ws_deflate_min_size" directive invalid value/],
        ['ws_listen; ws_deflate_server_no_context_takeover yes;',
         qr/invalid value "yes" in "ws_deflate_server_no_context_takeover" directive/],
        ['ws_listen; ws_deflate on; ws_max_message_size 0;',
         qr/"ws_deflate" needs a "ws_max_message_size" other than 0/],
    );
    for my $case (@bad) {
        my ($rc, $out) = $nginx_t->($case->[0]);
        isnt($rc, 0, "nginx -t refuses: $case->[0]");
        like($out, $case->[1], "message for: $case->[0]");
    }
    remove_tree($prefix);
}

run_tests();
done_testing();

__DATA__

=== TEST 1: the offer browsers send is accepted
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits
--- response_headers
Sec-WebSocket-Extensions: permessage-deflate
--- ws_send
text short and plain
--- ws_expect
text short and plain



=== TEST 2: every parameter is answered
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11
--- response_headers
Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11



=== TEST 3: server_max_window_bits=8 cannot be honoured: declined, not failed
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=8
--- response_headers
!Sec-WebSocket-Extensions
--- error_log
ws: permessage-deflate declined: server_max_window_bits=8 cannot be honoured



=== TEST 4: the first acceptable offer wins
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits="12", permessage-deflate
--- response_headers
Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12



=== TEST 5: an unknown parameter declines the offer
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate; mystery=1
--- response_headers
!Sec-WebSocket-Extensions
--- error_log
permessage-deflate declined: unknown permessage-deflate parameter



=== TEST 6: a repeated parameter declines the offer
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10; client_max_window_bits=10
--- response_headers
!Sec-WebSocket-Extensions



=== TEST 7: a malformed header fails the handshake with 400
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits="10
--- error_code: 400
--- error_log
ws: handshake rejected with 400: malformed Sec-WebSocket-Extensions parameter value



=== TEST 8: ws_deflate off (the default): the header is not even read
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits="10
--- response_headers
!Sec-WebSocket-Extensions



=== TEST 9: the server's policy narrows the answer
--- config
    location /ws {
        ws_listen; ws_echo on; ws_deflate on;
        ws_deflate_server_max_window_bits 10;
        ws_deflate_client_max_window_bits 9;
        ws_deflate_server_no_context_takeover on;
    }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits
--- response_headers
Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9



=== TEST 10: RSV1 on a ping -> 1002
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate
--- ws_send
frame op=ping rsv=4 payload=x
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/\*\d+ ws: protocol error: reserved bits set, closing with 1002/



=== TEST 11: RSV1 on a continuation frame -> 1002
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate
--- ws_send
frame fin=0 op=text rsv=4 payload_hex=f248cd
frame fin=1 op=cont rsv=4 payload_hex=c9c90700
--- ws_expect
close 1002
--- ws_expect_eof
--- error_log eval
qr/\*\d+ ws: protocol error: RSV1 set on a continuation frame, closing with 1002/



=== TEST 12: RSV1 without an agreed extension -> 1002
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_send
frame op=text rsv=4 payload_hex=f248cdc9c90700
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 13: RSV1 when the client offered but ws_deflate is off -> 1002
--- config
    location /ws { ws_listen; ws_echo on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate
--- ws_send
frame op=text rsv=4 payload_hex=f248cdc9c90700
--- ws_expect
close 1002
--- ws_expect_eof



=== TEST 14: the RFC 7692 examples are inflated, fragmented one included
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate
--- ws_send
frame op=text rsv=4 payload_hex=f248cdc9c90700
frame fin=0 op=text rsv=4 payload_hex=f248cd
ping between
frame fin=1 op=cont payload_hex=c9c90700
frame op=text rsv=4 payload_hex=000500faff48656c6c6f00
--- ws_expect
text Hello
pong between
text Hello
text Hello



=== TEST 15: corrupt compressed data -> 1007
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate
--- ws_send
frame op=text rsv=4 payload_hex=0700
--- ws_expect
close 1007
--- ws_expect_eof
--- error_log eval
qr/\*\d+ ws: protocol error: invalid compressed data, closing with 1007/



=== TEST 16: invalid UTF-8 inside a compressed text message -> 1007
--- config
    location /ws { ws_listen; ws_echo on; ws_deflate on; }
--- ws_handshake
Sec-WebSocket-Extensions: permessage-deflate
--- ws_send
frame op=text rsv=4 payload_hex=4a4cfa9f9c0200
--- ws_expect
close 1007
--- ws_expect_eof
--- error_log eval
qr/ws: protocol error: invalid UTF-8 in text message, closing with 1007/
