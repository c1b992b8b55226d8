# permessage-deflate (RFC 7692): negotiation answers on the raw handshake,
# RSV1 rules, corrupt data, the zip bomb, compressed output (context
# takeover, window bits, shared frames for channel subscribers) checked by
# inflating the server's frames here, and compressed echo with Python
# websockets, Node ws and headless Chromium, which all offer the extension.
use Test::NgxWs;
use Test::More;
use Compress::Raw::Zlib;

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
    my $block = join '', map { chr(97 + ($_ * 7919) % 26) } 1 .. 2048;
    my $msg = $block x 3;
    my @payloads;
    for my $round (1 .. 2) {
        $ws->send_text($msg);
        my $f = read_data_frame($ws, "$name #$round") or last;
        is($f->{rsv}, 4, "$name #$round - RSV1 set");
        # a fresh inflater each time: no context carried over
        is(inflate_message(inflater(9), $f->{payload}), $msg,
           "$name #$round - inflates with a 9-bit window and no history");
        push @payloads, $f->{payload};
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
