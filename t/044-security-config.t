# Configuration checks of the security directives: each refuses bad values
# at `nginx -t` with a message naming it, and accepts its documented forms.
use Test::NgxWs;
use Test::More;
use File::Path qw(make_path remove_tree);

my $keydir = repo_root() . '/t/servroot/044-security-keys';
make_path($keydir);
use Test::NgxWsJwt;
my $k = make_keys($keydir);

# `nginx -t` on a config with $location_body in one location and
# $http_body in the http block, $files copied next to nginx.conf;
# returns (exit code, output).
sub nginx_t {
    my ($location_body, $http_body, $files) = @_;
    return nginx_check_config(dir => '044-security-config', location => $location_body,
                              http => $http_body, files => $files);
}

our @good = (
    ['ws_listen; ws_allowed_origins https://a.example.com http://localhost:8080 *.example.org https://*.example.net:8443 null;'],
    ['ws_listen; ws_allowed_origins "~^https://[a-z]+\.example\.com$" "~*^HTTPS://X$";'],
    ['ws_listen; ws_allowed_origins "https://[::1]:8080";'],
    ['ws_listen;', 'ws_allowed_origins https://a.example.com;'],
    ['ws_listen; ws_subprotocols chat.v1 mqtt graphql-ws;'],
    ['ws_listen; ws_subprotocols chat; ws_subprotocol_required on;'],
    ["ws_listen; ws_auth_jwt on; ws_auth_jwt_key HS256 $k->{HS256}{public};"],
    ["ws_listen; ws_auth_jwt on; ws_auth_jwt_key RS256 $k->{RSA}{public}; "
     . "ws_auth_jwt_key ES256 $k->{P256}{public}; ws_auth_jwt_key ES384 $k->{P384}{public}; "
     . "ws_auth_jwt_key EdDSA $k->{Ed25519}{public}; ws_auth_jwt_key HS512 $k->{HS512}{public};"],
    ["ws_listen; ws_auth_jwt on; ws_auth_jwt_token header arg=t cookie=Jwt protocol=bearer.; "
     . "ws_auth_jwt_issuer https://i; ws_auth_jwt_audience a; ws_auth_jwt_leeway 1m; "
     . "ws_auth_jwt_user_channel off;", "ws_auth_jwt_key HS256 $k->{HS256}{public};"],
    ['ws_listen; ws_auth_jwt off;'],
    ["ws_listen; ws_auth_jwt on; ws_auth_jwt_key HS256 $k->{HS256}{public}; ws_auth_first_message on; ws_auth_timeout 5s;"],
    ["ws_listen; ws_auth_jwt on; ws_auth_jwt_key HS256 $k->{HS256}{public}; ws_auth_jwt_channels_claim channels;"],
    ['ws_listen; ws_limit_rate connection 100r/s; ws_limit_rate connection 64k/s burst=1m drop;'],
    ['ws_listen; ws_limit_rate ip 10r/m burst=20 close; ws_limit_rate user 1m/m;
      ws_max_connections 1000; ws_max_connections_per_ip 10; ws_max_connections_per_user 3;',
     'ws_zone z 1m;'],
    ['ws_listen;', 'ws_zone z 1m; ws_max_connections 10; ws_limit_rate ip 5r/s;'],
    ['ws_listen; ws_reserve_connections 100;'],
);

# [location body, http body, message that must appear]
our @bad = (
    ['ws_listen; ws_allowed_origins null; ws_allowed_origins null;', undef,
     qr/"ws_allowed_origins" directive is duplicate/],
    ['ws_listen; ws_allowed_origins app.example.com;', undef,
     qr/origin "app.example.com" in "ws_allowed_origins" needs a scheme/],
    ['ws_listen; ws_allowed_origins https://;', undef,
     qr/invalid origin "https:\/\/" in "ws_allowed_origins"/],
    ['ws_listen; ws_allowed_origins https://a.example.com/path;', undef,
     qr/invalid origin "https:\/\/a.example.com\/path" in "ws_allowed_origins"/],
    ['ws_listen; ws_allowed_origins https://a.example.com:http;', undef,
     qr/invalid origin "https:\/\/a.example.com:http" in "ws_allowed_origins"/],
    ['ws_listen; ws_allowed_origins https://a.*.example.com;', undef,
     qr/"\*" may only stand for the leading labels/],
    ['ws_listen; ws_allowed_origins "~(";', undef,
     qr/invalid regex "~\(" in "ws_allowed_origins"/],
    ['ws_listen; ws_allowed_origins "~";', undef,
     qr/empty regex in "ws_allowed_origins"/],
    ['ws_listen; ws_subprotocols "a b";', undef,
     qr/invalid protocol "a b" in "ws_subprotocols": it must be an HTTP token/],
    ['ws_listen; ws_subprotocols chat/1;', undef,
     qr/invalid protocol "chat\/1" in "ws_subprotocols"/],
    ['ws_listen; ws_subprotocols a; ws_subprotocols b;', undef,
     qr/"ws_subprotocols" directive is duplicate/],
    ['ws_listen; ws_subprotocol_required on;', undef,
     qr/"ws_subprotocol_required on" needs "ws_subprotocols"/],
    ['ws_listen; ws_subprotocol_required yes;', undef,
     qr/invalid value "yes" in "ws_subprotocol_required"/],
    ['ws_listen; ws_auth_jwt on;', undef,
     qr/"ws_auth_jwt on" needs at least one "ws_auth_jwt_key"/],
    ["ws_listen; ws_auth_jwt_key HS257 $k->{HS256}{public};", undef,
     qr/unknown algorithm "HS257" in "ws_auth_jwt_key"/],
    ["ws_listen; ws_auth_jwt_key HS256 $keydir/missing.key;", undef,
     qr/"ws_auth_jwt_key" cannot open "\S+missing.key"/],
    ["ws_listen; ws_auth_jwt_key HS256 $k->{short};", undef,
     qr/"ws_auth_jwt_key" HS256 secret in "\S+" is 9 bytes, RFC 7518 requires at least 32/],
    ["ws_listen; ws_auth_jwt_key HS512 $k->{HS256}{public};", undef,
     qr/HS512 secret in "\S+" is 32 bytes, RFC 7518 requires at least 64/],
    ["ws_listen; ws_auth_jwt_key RS256 $k->{RSA}{private};", undef,
     qr/"ws_auth_jwt_key" RS256 needs a PEM public key/],
    ["ws_listen; ws_auth_jwt_key RS256 $k->{HS256}{public};", undef,
     qr/"ws_auth_jwt_key" RS256 needs a PEM public key/],
    ["ws_listen; ws_auth_jwt_key RS256 $k->{P256}{public};", undef,
     qr/"ws_auth_jwt_key" RS256: the key in "\S+" is a id-ecPublicKey key, not rsaEncryption/],
    ["ws_listen; ws_auth_jwt_key RS256 $k->{RSA1k}{public};", undef,
     qr/RS256: the RSA key in "\S+" has 1024 bits, RFC 7518 requires at least 2048/],
    ["ws_listen; ws_auth_jwt_key ES384 $k->{P256}{public};", undef,
     qr/"ws_auth_jwt_key" ES384 needs a key on curve secp384r1/],
    ["ws_listen; ws_auth_jwt_key EdDSA $k->{RSA}{public};", undef,
     qr/"ws_auth_jwt_key" EdDSA: the key in "\S+" is a rsaEncryption key, not ED25519/],
    ['ws_listen; ws_auth_jwt_token query;', undef,
     qr/invalid token source "query" in "ws_auth_jwt_token"/],
    ['ws_listen; ws_auth_jwt_token arg=;', undef,
     qr/invalid token source "arg=" in "ws_auth_jwt_token"/],
    ['ws_listen; ws_auth_jwt_token header; ws_auth_jwt_token header;', undef,
     qr/"ws_auth_jwt_token" directive is duplicate/],
    ['ws_listen; ws_auth_jwt_leeway soon;', undef,
     qr/"ws_auth_jwt_leeway" directive invalid value/],
    ['ws_listen; ws_reserve_connections 0;', undef,
     qr/"ws_reserve_connections" directive must be between 1 and 1000000/],
    ['ws_listen; ws_reserve_connections some;', undef,
     qr/"ws_reserve_connections" directive invalid number/],
    ['ws_listen; ws_auth_first_message on;', undef,
     qr/"ws_auth_first_message on" needs "ws_auth_jwt on"/],
    ["ws_listen; ws_auth_jwt on; ws_auth_jwt_key HS256 $k->{HS256}{public}; ws_auth_first_message on; ws_subscribe a;",
     'ws_zone z 1m;',
     qr/"ws_auth_first_message on" cannot be used with "ws_subscribe" or "ws_publish"/],
    ['ws_listen; ws_auth_timeout never;', undef,
     qr/"ws_auth_timeout" directive invalid value/],
    ['ws_listen; ws_auth_jwt_channels_claim a b;', undef,
     qr/invalid number of arguments in "ws_auth_jwt_channels_claim"/],
    ['ws_listen; ws_limit_rate conn 10r/s;', undef,
     qr/invalid scope "conn" in "ws_limit_rate", it must be "connection", "ip" or "user"/],
    ['ws_listen; ws_limit_rate connection 10;', undef,
     qr/invalid rate "10" in "ws_limit_rate", expected messages/],
    ['ws_listen; ws_limit_rate connection 10r/h;', undef,
     qr/invalid rate "10r\/h" in "ws_limit_rate"/],
    ['ws_listen; ws_limit_rate connection 0r/s;', undef,
     qr/invalid rate "0r\/s" in "ws_limit_rate"/],
    ['ws_listen; ws_limit_rate connection lots/s;', undef,
     qr/invalid rate "lots\/s" in "ws_limit_rate"/],
    ['ws_listen; ws_limit_rate connection 10r/s burst=0;', undef,
     qr/invalid burst "burst=0" in "ws_limit_rate"/],
    ['ws_listen; ws_limit_rate connection 10r/s burst=1k;', undef,
     qr/invalid burst "burst=1k" in "ws_limit_rate"/],
    ['ws_listen; ws_limit_rate connection 10r/s reject;', undef,
     qr/invalid parameter "reject" in "ws_limit_rate", expected "burst=", "drop" or "close"/],
    ['ws_listen; ws_limit_rate connection;', undef,
     qr/invalid number of arguments in "ws_limit_rate"/],
    ['ws_listen; ws_limit_rate ip 10r/s;', undef,
     qr/per-ip or per-user rates are counted in "ws_zone", which the http block does not define/],
    ['ws_listen; ws_max_connections 10;', undef,
     qr/connection caps and per-ip or per-user rates are counted in "ws_zone"/],
    ['ws_listen; ws_max_connections 0;', 'ws_zone z 1m;',
     qr/invalid value "0" in "ws_max_connections", it must be a number greater than 0/],
    ['ws_listen; ws_max_connections_per_ip many;', 'ws_zone z 1m;',
     qr/invalid value "many" in "ws_max_connections_per_ip"/],
    ['ws_listen; ws_max_connections_per_user 1; ws_max_connections_per_user 2;', 'ws_zone z 1m;',
     qr/"ws_max_connections_per_user" directive is duplicate/],
);

{
    # with the demo key next to nginx.conf, as `make run` has it
    my ($rc, $out) = nginx_t('ws_listen;',
                             'include ' . repo_root() . '/conf_examples/secure.conf;',
                             [repo_root() . '/conf_examples/demo-jwt.key']);
    is($rc, 0, 'conf_examples/secure.conf passes nginx -t') or diag($out);
}

for my $case (@good) {
    my ($rc, $out) = nginx_t(@$case);
    is($rc, 0, "accepted: $case->[0]") or diag($out);
}

for my $case (@bad) {
    my ($loc, $http, $re) = @$case;
    my ($rc, $out) = nginx_t($loc, $http);
    isnt($rc, 0, "refused: $loc") or diag($out);
    like($out, $re, "message for: $loc");
}

done_testing();
