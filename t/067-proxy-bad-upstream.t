# Upstreams that break RFC 6455 after the 101: each gets the close code the
# RFC gives its error, the client gets 1011 (1014 when the upstream is
# gone), and the error log says why, once, with the connection's number.
use Test::NgxWs;
use Test::More;
use IPC::Open2 qw(open2);

my $port = test_port();
my $raw = $port + 3;
my $root = repo_root();

my $rawpid = open2(my $rout, my $rin, '/usr/bin/python3',
                   "$root/t/proxy/bad_upstream.py", $raw);
like(<$rout> // '', qr/listening/, 'the raw upstream listens');

my $ngx = start_nginx(name => 'bad upstream', log_level => 'info',
                      config => <<CONF);
    location /bad/ {
        ws_listen;
        ws_proxy_pass ws://127.0.0.1:$raw;
    }
CONF

sub upstream_last_close {
    my $q = ws_connect(uri => '/bad/last-close');
    $q->send_text('?');
    my $m = $q->read_message(5);
    $q->disconnect;
    return $m ? $m->{payload} : '';
}

for my $case (['fragmented-ping', 'a fragmented ping',
               'fragmented control frame', 1002],
              ['bad-close-code', 'a close code of 999',
               'invalid close code below 1000', 1002],
              ['masked', 'a masked frame', 'masked server frame', 1002],
              ['invalid-utf8', 'invalid UTF-8', 'invalid UTF-8 in text message',
               1007]) {
    my ($path, $name, $why, $code) = @$case;
    my $ws = ws_connect(uri => "/bad/$path");
    $ws->expect('close 1011', "$name: the client gets 1011");
    $ws->disconnect;
    my $got;
    wait_for(sub { ($got = upstream_last_close()) =~ /^$code / }, 5);
    like($got, qr/^$code /, "$name: the upstream gets $code");
    my @lines = $ngx->error_log =~
        /(ws proxy: upstream 127\.0\.0\.1:$raw broke the protocol: \Q$why\E, closing it with $code and the client with 1011 \(connection \d+\))/g;
    is(scalar @lines, 1, "$name: logged once, with why and the connection");
}

{
    my $name = 'an upstream that dies mid-message';
    my $ws = ws_connect(uri => '/bad/die');
    $ws->expect('close 1014', "$name: the client gets 1014");
    $ws->disconnect;
    my @lines = $ngx->error_log =~
        /(ws proxy: upstream 127\.0\.0\.1:$raw lost: the upstream closed the connection without a close frame, closing the client with 1014 \(connection \d+\))/g;
    is(scalar @lines, 1, "$name: logged once, with the connection");
}

check_logs($ngx, undef, allow => qr/ws proxy: upstream/);
kill 'TERM', $rawpid;
done_testing();
