# ws_proxy_deflate: permessage-deflate (RFC 7692) on the proxy's link to
# the upstream. The proxy offers it in its upgrade request, accepts only a
# valid agreement to that offer (anything else is a bad 101: the client
# gets 502), compresses the whole messages it sends (streamed pieces of
# large ones go uncompressed) and inflates what the upstream sends within
# ws_max_message_size. The upstream is Python's `websockets`, which agrees
# to deflate as a server by default and counts what arrived compressed
# (t/proxy/deflate_upstream.py); bad answers come from a raw socket
# (t/proxy/bad_upstream.py).
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use JSON::PP qw(decode_json);

my $port = test_port();
my $py = $port + 1;        # Python websockets, deflate on its side
my $bad = $port + 2;       # raw socket, bad extension answers
my $root = repo_root();

for my $s (['python websockets', "$root/t/proxy/deflate_upstream.py", $py],
           ['bad upstream', "$root/t/proxy/bad_upstream.py", $bad]) {
    my $pid = open2(my $out, my $in, '/usr/bin/python3', $s->[1], $s->[2]);
    like(scalar(<$out>) // '', qr/listening/, "$s->[0] listens");
}

# ---- nginx -t ------------------------------------------------------------

{
    my ($rc, $out) = nginx_check_config(dir => '082-proxy-deflate-upstream',
        location => 'ws_listen; ws_proxy_pass ws://127.0.0.1:9; ws_proxy_deflate maybe;');
    isnt($rc, 0, 'nginx -t: ws_proxy_deflate takes on or off');
    like($out, qr/"ws_proxy_deflate".*on.*off/, 'nginx -t: the message names the directive');
    ($rc, $out) = nginx_check_config(dir => '082-proxy-deflate-upstream',
        location => 'ws_listen; ws_proxy_pass ws://127.0.0.1:9; ws_proxy_deflate on;');
    is($rc, 0, 'nginx -t: ws_proxy_deflate on is accepted') or diag($out);
}

my $config = <<CONF;
    ws_proxy_ping_interval 0;
    location /on/ {
        ws_listen;
        ws_proxy_deflate on;
        ws_proxy_pass ws://127.0.0.1:$py/echo;
        ws_max_message_size 4m;
        ws_max_frame_size 4m;
    }
    location /off/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$py/echo;
    }
    location /both/ {
        ws_listen;
        ws_deflate on;
        ws_proxy_deflate on;
        ws_proxy_pass ws://127.0.0.1:$py/echo;
    }
    location /bomb/ {
        ws_listen;
        ws_proxy_deflate on;
        ws_proxy_pass ws://127.0.0.1:$py/bomb;
        ws_max_message_size 1m;
    }
    location /bad/ {
        ws_listen;
        ws_proxy_deflate on;
        ws_proxy_pass ws://127.0.0.1:$bad;
    }
    location /bad-off/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$bad;
    }
CONF

my $ngx = start_nginx(name => 'proxy-deflate', config => $config,
                      log_level => 'info');

sub stats {
    my ($ws, $name) = @_;
    $ws->send_text('stats');
    my $msg = $ws->read_message;
    my $s = eval { decode_json($msg->{payload}) };
    ok($s, "$name: the upstream reports") or diag($msg->{payload});
    return $s // {};
}

# ---- deflate on: round trips, and what the upstream saw ---------------

{
    my $ws = ws_connect(uri => '/on/', timeout => 30);
    $ws->send_text('hi');
    $ws->expect('text hi', 'on: a small text message round-trips');
    $ws->send_dsl('text len=2000');
    $ws->expect('text len=2000', 'on: a text message round-trips');
    $ws->send_dsl('binary len=10000');
    $ws->expect('binary len=10000', 'on: a binary message round-trips');
    $ws->send_dsl('binary_hex 00ff10');
    $ws->expect('binary_hex 00ff10', 'on: binary stays binary');
    $ws->send_text("caf\xc3\xa9" x 100);
    $ws->expect('text_hex ' . ('636166c3a9' x 100), 'on: UTF-8 text byte for byte');
    $ws->send_dsl('binary len=1000000');
    $ws->expect('binary len=1000000', 'on: a 1 MB (streamed) message round-trips');
    my $s = stats($ws, 'on');
    is_deeply($s->{extensions}, ['permessage-deflate'],
              'on: the upstream agreed to permessage-deflate');
    is($s->{offer}, 'permessage-deflate; client_max_window_bits',
       'on: the proxy offered it');
    # compressed: the 2000-byte text, the 10000-byte binary and the
    # 500-byte UTF-8 text; not: those under ws_deflate_min_size (64) nor
    # the streamed 1 MB one
    is($s->{compressed_in}, 3, 'on: whole messages went compressed, small '
       . 'and streamed ones plain');
    $ws->send_close(1000);
    $ws->expect('close 1000', 'on: closed');
}

# ---- deflate off: nothing offered --------------------------------------

{
    my $ws = ws_connect(uri => '/off/');
    $ws->send_dsl('text len=2000');
    $ws->expect('text len=2000', 'off: relayed');
    my $s = stats($ws, 'off');
    is_deeply($s->{extensions}, [], 'off: no extension agreed upstream');
    is($s->{offer}, undef, 'off: nothing offered upstream');
    is($s->{compressed_in}, 0, 'off: nothing compressed');
    $ws->send_close(1000);
    $ws->expect('close 1000', 'off: closed');
}

# ---- a client with deflate of its own and deflate upstream at once -----

{
    my $out = run_bounded("/usr/bin/python3 $root/t/proxy/deflate_client.py "
                          . "ws://127.0.0.1:$port/both/", timeout => 30);
    my $r = eval { decode_json($out) } // {};
    is_deeply($r->{client_extensions}, ['permessage-deflate'],
              'both: the client agreed deflate with ngx_ws') or diag($out);
    ok($r->{text_ok}, 'both: text round-trips through two deflate links');
    ok($r->{binary_ok}, 'both: binary round-trips through two deflate links');
    is_deeply($r->{upstream}{extensions}, ['permessage-deflate'],
              'both: the upstream agreed deflate with the proxy');
    is($r->{upstream}{compressed_in}, 2,
       'both: both messages reached the upstream compressed');
}

# ---- a decompression bomb from the upstream ----------------------------

{
    my $ws = ws_connect(uri => '/bomb/');
    $ws->send_text('go');
    $ws->expect('close 1011', 'bomb: 10 MiB inflated past 1m: the client gets 1011');
}

# ---- the upstream's answer must agree to the offer ----------------------

for my $case (['unoffered', 'an extension that was not offered'],
              ['bad-bits', 'bad client_max_window_bits value'],
              ['no-value', 'bad server_max_window_bits value'],
              ['unknown', 'unknown permessage-deflate parameter'],
              ['twice', 'permessage-deflate answered twice']) {
    my $res = ws_handshake_answer(uri => "/bad/$case->[0]");
    is($res->{status}, 502, "bad answer $case->[0]: the client gets 502");
}

{
    my $ws = eval { ws_connect(uri => '/bad/good') };
    ok($ws, 'a valid answer (window 10, no takeover): the client gets 101')
        or diag($@);
    if ($ws) {
        $ws->expect('text hello deflate', 'a valid answer: its compressed '
                    . 'message is inflated');
        $ws->disconnect;
    }
    my $res = ws_handshake_answer(uri => '/bad-off/good');
    is($res->{status}, 502, 'deflate off: the same answer is an extension '
       . 'not offered, 502');
}

my $err = $ngx->error_log;
like($err, qr/ws proxy: upstream 127\.0\.0\.1:$py broke the protocol: message too large when inflated, closing it with 1009/,
     'error log: the bomb, closed with 1009 upstream');
for my $why ('an extension that was not offered',
             'bad client_max_window_bits value',
             'bad server_max_window_bits value',
             'unknown permessage-deflate parameter',
             'permessage-deflate answered twice') {
    like($err, qr/ws proxy: upstream 127\.0\.0\.1:$bad sent a bad 101: \Q$why\E/,
         "error log: $why");
}

check_logs($ngx, undef, allow => qr/ws proxy:/);

done_testing();
