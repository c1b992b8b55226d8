# ws_proxy_pass and its timeouts at `nginx -t`: the forms that work, and
# every mistake refused with a message naming the directive and the line.
use Test::NgxWs;
use Test::More;

my $port = test_port();

sub nginx_t {
    my ($location, $http) = @_;
    return nginx_check_config(dir => '061-proxy-config', location => $location,
                              http => $http // '');
}

my $group = 'upstream app { server 127.0.0.1:1; server 127.0.0.1:2 backup; }';

my @good = (
    ['ws_listen; ws_proxy_pass ws://127.0.0.1:9001;', ''],
    ['ws_listen; ws_proxy_pass ws://127.0.0.1:9001/path?x=1;', ''],
    ['ws_listen; ws_proxy_pass ws://localhost;', ''],
    ['ws_listen; ws_proxy_pass wss://localhost/x; ws_proxy_ssl_verify off;', ''],
    ['ws_listen; ws_proxy_pass ws://app;', $group],
    ['ws_listen; ws_proxy_pass WS://app/sub;', $group],
    ['ws_listen; ws_proxy_pass ws://app; ws_proxy_connect_timeout 2s; '
     . 'ws_proxy_handshake_timeout 500ms; ws_deflate on; ws_max_message_size 16m;', $group],
    ['ws_listen; ws_proxy_pass ws://app;',
     "ws_proxy_connect_timeout 1s; ws_proxy_handshake_timeout 1s; $group"],
    ['ws_listen; ws_proxy_pass ws://app; ws_proxy_set_header X-User $remote_user; '
     . 'ws_proxy_set_header Cookie "";', $group],
    ['ws_listen; ws_proxy_pass ws://app; ws_proxy_ping_interval 0;', $group],
);

for my $case (@good) {
    my ($rc, $out) = nginx_t(@$case);
    is($rc, 0, "accepted: $case->[0]") or diag($out);
}

# [location, http, what the message must say]
my @bad = (
    ['ws_listen; ws_proxy_pass http://127.0.0.1:9001;', '',
     qr/"ws_proxy_pass" needs a ws:\/\/ or wss:\/\/ URL, not "http:\/\/127\.0\.0\.1:9001" in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass 127.0.0.1:9001;', '',
     qr/"ws_proxy_pass" needs a ws:\/\/ or wss:\/\/ URL.* in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ftp://127.0.0.1:9001;', '',
     qr/"ws_proxy_pass" needs a ws:\/\/ or wss:\/\/ URL, not "ftp:\/\/127\.0\.0\.1:9001" in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ws://127.0.0.1:99999;', '',
     qr/"ws_proxy_pass": invalid URL "ws:\/\/127\.0\.0\.1:99999": invalid port in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ws://;', '',
     qr/"ws_proxy_pass": invalid URL .* in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ws://a:1; ws_proxy_pass ws://b:1;', '',
     qr/"ws_proxy_pass" directive is duplicate in \S+nginx\.conf:\d+/],
    ['ws_proxy_pass ws://127.0.0.1:9001;', '',
     qr/"ws_proxy_pass" needs "ws_listen" in the same location in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_echo on; ws_proxy_pass ws://127.0.0.1:9001;', '',
     qr/"ws_proxy_pass" cannot be combined with "ws_echo"/],
    ['ws_listen; ws_proxy_pass ws://127.0.0.1:9001; ws_protocol json; ws_channels_allow a;',
     'ws_zone z 1m;', qr/"ws_proxy_pass" cannot be combined with/],
    ['ws_listen; ws_proxy_pass ws://127.0.0.1:9001; ws_proxy_connect_timeout 0;', '',
     qr/"ws_proxy_connect_timeout" directive must be greater than 0 in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ws://127.0.0.1:9001; ws_proxy_handshake_timeout 0s;', '',
     qr/"ws_proxy_handshake_timeout" directive must be greater than 0 in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ws://127.0.0.1:9001; ws_proxy_handshake_timeout soon;', '',
     qr/"ws_proxy_handshake_timeout" directive invalid value in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ws://a:1; ws_proxy_set_header Upgrade h2c;', '',
     qr/"ws_proxy_set_header" cannot set "Upgrade": ngx_ws writes it.* in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ws://a:1; ws_proxy_set_header sec-websocket-key x;', '',
     qr/"ws_proxy_set_header" cannot set "sec-websocket-key"/],
    ['ws_listen; ws_proxy_pass ws://a:1; ws_proxy_set_header "Bad Name" x;', '',
     qr/"ws_proxy_set_header": "Bad Name" is not a header name in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass ws://a:1; ws_proxy_set_header X-A;', '',
     qr/invalid number of arguments in "ws_proxy_set_header" directive/],
    ['ws_listen; ws_proxy_pass ws://a:1; '
     . join(' ', map { "ws_proxy_set_header X-$_ v;" } 1 .. 9), '',
     qr/"ws_proxy_set_header": more than 8 in one place/],
    ['ws_listen; ws_proxy_pass ws://a:1; ws_proxy_ping_interval never;', '',
     qr/"ws_proxy_ping_interval" directive invalid value in \S+nginx\.conf:\d+/],
    ['ws_listen; ws_proxy_pass;', '',
     qr/invalid number of arguments in "ws_proxy_pass" directive in \S+nginx\.conf:\d+/],
);

for my $case (@bad) {
    my ($location, $http, $want) = @$case;
    my ($rc, $out) = nginx_t($location, $http);
    isnt($rc, 0, "refused: $location");
    like($out, $want, "message names the directive: $location");
}

# ws_proxy_pass is a location directive
{
    my ($rc, $out) = nginx_check_config(dir => '061-proxy-config',
        http => 'ws_proxy_pass ws://127.0.0.1:9001;', location => 'ws_listen;');
    isnt($rc, 0, 'ws_proxy_pass refused at http level');
    like($out, qr/"ws_proxy_pass" directive is not allowed here/, 'and says so');
}

done_testing();
