# Configuration checks of the Redis and history directives at `nginx -t`:
# each refuses bad values with a message naming it. No Redis server is
# needed: nothing connects at configuration time (a host name is
# resolved, once, there).
use Test::NgxWs;
use Test::More;
use File::Path qw(make_path remove_tree);

my $prefix = repo_root() . '/t/servroot/030-cluster-config';

# a certificate and key, copied next to nginx.conf for the TLS cases
my $certs = repo_root() . '/t/servroot/030-cluster-config-certs';
make_path($certs);
Test::NgxWs::make_cert($certs);

sub nginx_t {
    my ($http_body, $location_body) = @_;
    return nginx_check_config(dir => '030-cluster-config', http => $http_body,
        location => $location_body // 'ws_listen; ws_subscribe room:a; ws_publish room:a;',
        files => ["$certs/cert.pem", "$certs/cert.key"]);
}

my $tls = 'ws_zone z 1m; ws_redis 127.0.0.1:6380 ssl;';

my @good = (
    'ws_zone z 1m; ws_redis 127.0.0.1:6379; ws_redis_channels room:*;',
    'ws_zone z 1m; ws_redis 127.0.0.1;',
    'ws_zone z 1m; ws_redis localhost:6390 db=3 timeout=500ms prefix=app1:;',
    'ws_zone z 1m; ws_redis unix:/run/redis.sock password=secret;',
    'ws_zone z 1m; ws_redis [::1]:6379 user=ws password=secret;',
    'ws_zone z 1m; ws_redis 127.0.0.1:6379; ws_redis_channels room:* news;',
    'ws_zone z 1m; ws_channel_history 100 5m;',
    'ws_zone z 1m; ws_channel_history 1 500ms;',
    'ws_zone z 1m; ws_channel_history 65536 1h;',
    "$tls ws_redis_ssl_verify off;",
    "$tls ws_redis_ssl_trusted_certificate cert.pem;",
    'ws_zone z 1m; ws_redis localhost:6380 ssl password=secret;'
        . ' ws_redis_ssl_trusted_certificate cert.pem; ws_redis_ssl_name redis.internal;'
        . ' ws_redis_ssl_certificate cert.pem; ws_redis_ssl_certificate_key cert.key;',
);

for my $conf (@good) {
    my ($rc, $out) = nginx_t($conf);
    is($rc, 0, "accepted: $conf") or diag($out);
}

my @bad = (
    ['ws_zone z 1m; ws_redis 127.0.0.1:6379; ws_redis 127.0.0.1:6380;',
     qr/"ws_redis" directive is duplicate/],
    ['ws_zone z 1m; ws_redis 127.0.0.1:99999;',
     qr/invalid "ws_redis" address "127.0.0.1:99999": invalid port/],
    ['ws_zone z 1m; ws_redis no-such-host.invalid:6379;',
     qr/invalid "ws_redis" address "no-such-host.invalid:6379": host not found/],
    ['ws_zone z 1m; ws_redis 127.0.0.1 db=x;',
     qr/invalid "ws_redis" parameter "db=x"/],
    ['ws_zone z 1m; ws_redis 127.0.0.1 db=2000;',
     qr/invalid "ws_redis" parameter "db=2000"/],
    ['ws_zone z 1m; ws_redis 127.0.0.1 timeout=0;',
     qr/invalid "ws_redis" parameter "timeout=0"/],
    ['ws_zone z 1m; ws_redis 127.0.0.1 password=;',
     qr/invalid "ws_redis" parameter "password="/],
    ['ws_zone z 1m; ws_redis 127.0.0.1 prefix=a*;',
     qr/invalid "ws_redis" parameter "prefix=a\*"/],
    ['ws_zone z 1m; ws_redis 127.0.0.1 tls=on;',
     qr/invalid "ws_redis" parameter "tls=on"/],
    ['ws_zone z 1m; ws_redis 127.0.0.1 user=ws;',
     qr/"ws_redis" user= needs password=/],
    ['ws_redis 127.0.0.1:6379;',
     qr/"ws_redis" needs "ws_zone" in the http block/, 'ws_listen; ws_echo on;'],
    ['ws_zone z 1m; ws_redis_channels room:*;',
     qr/"ws_redis_channels" needs "ws_redis" in the http block/],
    ['ws_zone z 1m; ws_redis 127.0.0.1; ws_redis_channels conn:*;',
     qr/invalid "ws_redis_channels" pattern "conn:\*"/],
    ['ws_zone z 1m; ws_redis 127.0.0.1; ws_redis_channels a; ws_redis_channels b;',
     qr/"ws_redis_channels" directive is duplicate/],
    ['ws_zone z 1m; ws_channel_history 0 5m;',
     qr/invalid "ws_channel_history" number "0", it must be between 1 and 65536/],
    ['ws_zone z 1m; ws_channel_history 65537 5m;',
     qr/invalid "ws_channel_history" number "65537"/],
    ['ws_zone z 1m; ws_channel_history 100 soon;',
     qr/invalid "ws_channel_history" time "soon"/],
    ['ws_zone z 1m; ws_channel_history 100 0;',
     qr/invalid "ws_channel_history" time "0"/],
    ['ws_zone z 1m; ws_channel_history 100;',
     qr/invalid number of arguments in "ws_channel_history"/],
    ['ws_zone z 1m; ws_channel_history 10 1m; ws_channel_history 20 1m;',
     qr/"ws_channel_history" directive is duplicate/],
    ['ws_channel_history 10 1m;',
     qr/"ws_channel_history" needs "ws_zone" in the http block/, 'ws_listen; ws_echo on;'],
    [$tls,
     qr/"ws_redis" 127.0.0.1:6380 with "ssl" verifies the server's certificate: name the CA with "ws_redis_ssl_trusted_certificate", or set "ws_redis_ssl_verify off"/],
    ['ws_zone z 1m; ws_redis unix:/run/redis.sock ssl; ws_redis_ssl_verify off;',
     qr/"ws_redis" unix:\/run\/redis.sock: "ssl" needs a host:port address/],
    ['ws_zone z 1m; ws_redis 127.0.0.1:6380; ws_redis_ssl_verify off;',
     qr/"ws_redis_ssl_\*" directives need the "ssl" parameter of "ws_redis"/],
    ['ws_zone z 1m; ws_redis_ssl_name redis.internal;',
     qr/"ws_redis_ssl_\*" directives need "ws_redis" in the http block/],
    ["$tls ws_redis_ssl_verify off; ws_redis_ssl_certificate cert.pem;",
     qr/no "ws_redis_ssl_certificate_key" is defined for "ws_redis_ssl_certificate" "cert.pem"/],
    ["$tls ws_redis_ssl_verify off; ws_redis_ssl_certificate_key cert.key;",
     qr/"ws_redis_ssl_certificate_key" needs "ws_redis_ssl_certificate"/],
    ["$tls ws_redis_ssl_trusted_certificate missing.pem;",
     qr/missing.pem/],
    ["$tls ws_redis_ssl_verify maybe;",
     qr/invalid value "maybe" in "ws_redis_ssl_verify" directive/],
    ["$tls ws_redis_ssl_verify off; ws_redis_ssl_name a; ws_redis_ssl_name b;",
     qr/"ws_redis_ssl_name" directive is duplicate/],
    ["$tls ws_redis_ssl_trusted_certificate '';",
     qr/"ws_redis_ssl_trusted_certificate" directive needs a file name/],
);

for my $case (@bad) {
    my ($http, $message, $location) = @$case;
    my ($rc, $out) = nginx_t($http, $location);
    isnt($rc, 0, "refused: $http");
    like($out, $message, "message for: $http");
}

remove_tree($prefix, $certs);
done_testing();
