# ws_health ready min_zone_free=size: readiness is 503 while the ws_zone
# has less free than the bound, 200 again once memory is given back. The
# zone is filled and emptied through channel history: each kept message is
# the zone's copy of it, and a message pushed out of the ring frees its
# copy.
use Test::NgxWs;
use Test::More;
use JSON::PP;

my $port = test_port();

my $http = <<'CONF';
    ws_zone health 1m;
    ws_channel_history 10 5m;
    client_body_buffer_size 64k;
CONF

sub config {
    my ($min) = @_;
    return <<"CONF";
    location = /readyz { ws_health ready$min; }
    location = /pub { ws_publisher kept; }
CONF
}

sub ready {
    my $res = http_request(port => $port, raw => "GET /readyz HTTP/1.1\r\n"
                           . "Host: localhost\r\nConnection: close\r\n\r\n");
    $res->{json} = eval { decode_json($res->{body}) } // {};
    return $res;
}

sub publish {
    my ($body) = @_;
    my $res = http_request(port => $port, raw => "POST /pub HTTP/1.1\r\n"
        . "Host: localhost\r\nConnection: close\r\nContent-Type: text/plain\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n$body");
    return $res->{status};
}

# The free memory of a fresh zone of this configuration, as ready reports it.
my $ngx = start_nginx(name => 'zone free at start', http_config => $http,
                      config => config(''));
my $res = ready();
my $free0 = $res->{json}{checks}{zone}{free};
is($res->{status}, 200, 'ready with the default bound (one page)');
ok(defined $free0 && $free0 > 256 * 1024, 'a fresh 1m zone reports its free memory')
    or diag($res->{body});
check_logs($ngx);

# 10 kept messages of 8000 bytes take two pages each: 80 KiB. The bound
# sits 40 KiB below the fresh zone's free memory.
my $min = $free0 - 40 * 1024;
$ngx = start_nginx(name => 'min_zone_free', log_level => 'info',
                   http_config => $http, config => config(" min_zone_free=$min"));
$res = ready();
is($res->{status}, 200, "free $free0 above min_zone_free=$min: 200");
is($res->{json}{checks}{zone}{min_free}, $min, 'the bound is reported');
ok($res->{json}{checks}{zone}{ok}, 'zone check ok');

my $big = 'x' x 8000;
is(scalar(grep { publish($big) == 200 } 1 .. 10), 10, 'ten large messages published and kept');
$res = ready();
my $free1 = $res->{json}{checks}{zone}{free} // -1;
note("free after the large messages: $free1");
cmp_ok($free1, '<', $min, 'the zone now has less free than the bound');
is($res->{status}, 503, 'below min_zone_free: 503');
is($res->{json}{status}, 'not ready', 'status "not ready"');
ok($res->{json}{checks}{zone} && !$res->{json}{checks}{zone}{ok}, 'the zone check says why');
ok(wait_for(sub { $ngx->error_log =~ /\[info\] .*ws: not ready: ws_zone short of memory/ }, 3),
   'logged at info');

# small messages push the large ones out of the ring: their pages come back
is(scalar(grep { publish("small $_") == 200 } 1 .. 10), 10, 'ten small messages published');
$res = ready();
my $free2 = $res->{json}{checks}{zone}{free} // -1;
note("free after the small messages: $free2");
cmp_ok($free2, '>=', $min, 'the large messages are freed');
is($res->{status}, 200, 'above min_zone_free again: 200');
check_logs($ngx);

done_testing();
