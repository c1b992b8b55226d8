# The close handshake through the proxy: a close is answered with the
# other side's answer, not by ngx_ws on its own. The client's close code
# reaches the upstream and the client's answer is the upstream's (even a
# slow one); the upstream's close reaches the client and its answer is the
# client's; an upstream that never answers leaves the client its own code
# after ws_close_timeout.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);
use Time::HiRes qw(time sleep);

my $port = test_port();
my $raw = $port + 3;
my $root = repo_root();

my $rawpid = open2(my $rout, my $rin, '/usr/bin/python3',
                   "$root/t/proxy/bad_upstream.py", $raw);
like(<$rout> // '', qr/listening/, 'the raw upstream listens');

my $ngx = start_nginx(name => 'close', log_level => 'info', config => <<CONF);
    location /raw/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$raw;
        ws_close_timeout 1s;
    }
CONF

sub upstream_last_close {
    my $q = ws_connect(uri => '/raw/last-close');
    $q->send_text('?');
    my $m = $q->read_message(5);
    $q->disconnect;
    return $m ? $m->{payload} : '';
}

{
    my $name = 'client closes, upstream answers late';
    my $ws = ws_connect(uri => '/raw/slow-close');
    my $t0 = time;
    $ws->send_close(4000, 'bye');
    $ws->expect('close 4000 slow', "$name: the client's answer is the "
                . "upstream's (its reason)");
    my $took = time - $t0;
    cmp_ok($took, '>=', 0.4, "$name: given when the upstream gave it "
           . sprintf('(%.2fs)', $took));
    like(upstream_last_close(), qr/^4000 /, "$name: the upstream got 4000");
}

{
    my $name = 'client closes, upstream never answers';
    my $ws = ws_connect(uri => '/raw/no-close-answer');
    my $t0 = time;
    $ws->send_close(4000, 'bye');
    $ws->expect('close 4000', "$name: the client gets its own code back");
    my $took = time - $t0;
    ok($took >= 0.8 && $took < 3,
       "$name: after ws_close_timeout " . sprintf('(%.2fs)', $took));
    $ws->expect_eof("$name: closed");
    like(upstream_last_close(), qr/^4000 /, "$name: the upstream got 4000");
    like($ngx->error_log,
         qr/ws proxy: upstream 127\.0\.0\.1:$raw did not answer the close in time/,
         "$name: logged");
}

{
    my $name = 'upstream closes first';
    # this client answers closes itself, when the test says
    my $ws = ws_connect(uri => '/raw/close-first', no_close_reply => 1);
    $ws->expect('close 4002 up bye', "$name: its code and reason reach the client");
    sleep 0.5;
    $ws->send_close(4003, 'client answer');
    $ws->expect_eof("$name: closed once the client answered");
    my $got;
    wait_for(sub { ($got = upstream_last_close()) =~ /^4003 / }, 5);
    like($got, qr/^4003 /, "$name: the upstream's answer is the client's (4003)");
    my ($waited) = $got =~ / (\d+)$/;
    cmp_ok($waited // 0, '>=', 400,
           "$name: sent when the client answered (after ${waited} ms)");
}

check_logs($ngx);
kill 'TERM', $rawpid;
done_testing();
