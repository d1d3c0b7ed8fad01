#!/usr/bin/env bash
# kafka-secure.sh: a second single-node Apache Kafka broker (KRaft) on 127.0.0.1 whose
# client listener is SASL_SSL, for the TLS and SASL tests. It leaves the broker of
# kafka.sh alone; both can run at once.
#
#   kafka-secure.sh start    generate a CA and a broker certificate with openssl, create the
#                            SASL users, start a fresh broker (empty data) on free ports, and
#                            write $STREAMSCORE_RUN/kafka-secure/env; prints
#                            "kafka-secure: listening on 127.0.0.1:PORT (SASL_SSL)". If one is
#                            already running and answering, just prints its address.
#   kafka-secure.sh stop     stop it (SIGTERM, SIGKILL after 20 s) and delete its state
#   kafka-secure.sh status   exit 0 and print the address if it runs, else exit 1
#   kafka-secure.sh env      print the path of the env file (source it)
#
# Listeners: SASL_SSL on 127.0.0.1:PORT is the only one clients should use. The broker
# also needs a controller listener and, for its own inter-broker traffic, an INTERNAL
# PLAINTEXT listener; both are bound to 127.0.0.1 only.
#
# Users, each with a random password made at start:
#   alice  SCRAM-SHA-512   (created in the metadata log at format time: StorageTool --add-scram)
#   carol  SCRAM-SHA-256   (likewise)
#   bob    PLAIN           (declared in the listener's JAAS configuration)
#
# The env file exports:
#   STREAMSCORE_SECURE_BROKERS                   127.0.0.1:PORT of the SASL_SSL listener
#   STREAMSCORE_SECURE_CA                        PEM file of the CA that signed the broker's
#                                                certificate (SAN IP:127.0.0.1, DNS:localhost)
#   STREAMSCORE_SECURE_SCRAM512_USER/_PASSWORD   alice and her password
#   STREAMSCORE_SECURE_SCRAM256_USER/_PASSWORD   carol and her password
#   STREAMSCORE_SECURE_PLAIN_USER/_PASSWORD      bob and his password
#   STREAMSCORE_SECURE_SECRETS                   folder holding USER.password files (mode 600)
#
# Jars come from the same cache as kafka.sh (kafka.sh fetch). State, certificates and
# secrets: $STREAMSCORE_RUN/kafka-secure/. KAFKA_SECURE_HEAP_OPTS overrides the heap
# (default -Xms128m -Xmx512m).
set -euo pipefail

LOG_NAME=kafka-secure
# shellcheck source=deployments/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STATE="$STREAMSCORE_RUN/kafka-secure"
DATA="$STATE/data"
TLS_DIR="$STATE/tls"
SECRETS="$STATE/secrets"
PROPS="$STATE/server.properties"
PIDFILE="$STATE/kafka.pid"
ADDRFILE="$STATE/address"
PORTSFILE="$STATE/ports"
ENVFILE="$STATE/env"
SERVER_LOG="$STATE/server.log"
CONSOLE_LOG="$STATE/console.log"
READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-90}"
HEAP_OPTS="${KAFKA_SECURE_HEAP_OPTS:--Xms128m -Xmx512m}"

ensure_openssl() {
	command -v openssl >/dev/null || apt_install openssl
	command -v openssl >/dev/null || die "openssl is still missing after apt-get install"
}

# fetch_libs makes sure the Kafka jars are in the shared cache (installing Java and
# Maven if missing) and sets LIBS to their folder.
fetch_libs() {
	LIBS="$("$LOCAL_DIR/kafka.sh" fetch)" || die "fetching the Kafka jars failed (see above)"
	[[ -d "$LIBS" ]] || die "kafka.sh fetch printed '$LIBS', which is not a folder"
}

running_pid() { pid_alive "$PIDFILE" "$PROPS"; }

port_of() { sed -n "s/^$1=//p" "$PORTSFILE"; }

# new_secret prints a random alphanumeric password (no character needs quoting in
# JAAS, in StorageTool's --add-scram syntax, or in YAML).
new_secret() {
	local s
	s="$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')"
	echo "${s:0:24}"
}

# make_certs writes a throw-away CA and a broker certificate it signs, valid for
# 127.0.0.1 and localhost, and packs the broker's key and chain into a PKCS#12 keystore.
make_certs() {
	local storepass="$1"
	rm -rf "$TLS_DIR"
	mkdir -p "$TLS_DIR"
	chmod 700 "$TLS_DIR"
	local out
	if ! out="$(
		set -e
		cd "$TLS_DIR"
		openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 7 \
			-keyout ca.key -out ca.pem -subj "/CN=streamscore local test CA" \
			-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>&1
		openssl req -newkey rsa:2048 -nodes -sha256 -keyout broker.key -out broker.csr -subj "/CN=localhost" 2>&1
		printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
			"extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >broker.ext
		openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 -days 7 \
			-extfile broker.ext -out broker.pem 2>&1
		openssl pkcs12 -export -name broker -in broker.pem -inkey broker.key -certfile ca.pem \
			-out broker.p12 -passout "pass:$storepass" 2>&1
		rm -f broker.csr ca.srl
		chmod 600 ca.key broker.key broker.p12
	)"; then
		printf '%s\n' "$out" >&2
		die "generating certificates with openssl failed (output above)"
	fi
}

write_config() {
	local sport="$1" iport="$2" cport="$3" storepass="$4" plain_pw="$5"
	printf 'sasl_ssl=%s\ninternal=%s\ncontroller=%s\n' "$sport" "$iport" "$cport" >"$PORTSFILE"
	# The file holds the keystore password and bob's PLAIN password.
	(
		umask 077
		cat >"$PROPS" <<EOF
# Written by deployments/local/kafka-secure.sh: single-node KRaft broker whose client
# listener is SASL_SSL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), for the security tests.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=SASL_SSL://127.0.0.1:$sport,INTERNAL://127.0.0.1:$iport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_SSL://127.0.0.1:$sport,INTERNAL://127.0.0.1:$iport,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=INTERNAL
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,SASL_SSL:SASL_SSL
log.dirs=$DATA

# SASL on the client listener. SCRAM users live in the metadata log (added at format
# time); PLAIN users are the user_NAME entries of the JAAS configuration.
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_bob="$plain_pw";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;

# TLS: the broker's key and certificate chain; clients are not asked for certificates.
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$storepass
ssl.key.password=$storepass
ssl.client.auth=none
ssl.enabled.protocols=TLSv1.3,TLSv1.2

num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
EOF
	)
	write_log4j "$STATE" "$SERVER_LOG"
}

# format_storage formats the KRaft log and adds the SCRAM credentials to it, so they
# exist before the broker first accepts a connection.
format_storage() {
	local alice_pw="$1" carol_pw="$2"
	rm -rf "$DATA"
	mkdir -p "$DATA"
	local cluster_id out
	cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
	if ! out="$(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$STATE/tools-log4j2.properties" -cp "$LIBS/*" \
		kafka.tools.StorageTool format --config "$PROPS" --cluster-id "$cluster_id" --standalone \
		--add-scram "SCRAM-SHA-512=[name=alice,password=$alice_pw]" \
		--add-scram "SCRAM-SHA-256=[name=carol,password=$carol_pw]" 2>&1)"; then
		# The output may echo the arguments; never show the passwords.
		printf '%s\n' "$out" | sed -e "s/$alice_pw/****/g" -e "s/$carol_pw/****/g" >&2
		die "formatting KRaft storage with SCRAM users in $DATA failed (StorageTool output above)"
	fi
}

launch() {
	local pid
	# shellcheck disable=SC2086 # HEAP_OPTS is a list of flags
	nohup java $HEAP_OPTS -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
		-Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$STATE/log4j2.properties" \
		-Dkafka.logs.dir="$STATE" \
		-cp "$LIBS/*" kafka.Kafka "$PROPS" \
		</dev/null >>"$CONSOLE_LOG" 2>&1 9>&- &
	pid=$!
	echo "$pid" >"$PIDFILE"
	LAUNCHED_PID=$pid
}

wait_ready() {
	local pid="$1" sport start=$SECONDS
	sport="$(port_of sasl_ssl)"
	while ((SECONDS - start < READY_TIMEOUT)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			rm -f "$PIDFILE"
			show_log "$CONSOLE_LOG" 20
			show_log "$SERVER_LOG" 40
			die "broker process $pid exited during start-up (logs above)"
		fi
		if [[ -f "$SERVER_LOG" ]] && grep -q 'Kafka Server started' "$SERVER_LOG" && port_in_use "$sport"; then
			return 0
		fi
		sleep 0.2
	done
	show_log "$CONSOLE_LOG" 20
	show_log "$SERVER_LOG" 40
	die "broker (pid $pid) did not start within ${READY_TIMEOUT}s (logs above; it is left running, stop it with $0 stop)"
}

write_secret() {
	local user="$1" pw="$2"
	(
		umask 077
		printf '%s\n' "$pw" >"$SECRETS/$user.password"
	)
}

write_env() {
	local alice_pw="$1" carol_pw="$2" bob_pw="$3"
	(
		umask 077
		cat >"$ENVFILE.tmp" <<ENV
# Written by deployments/local/kafka-secure.sh; source it. It holds test passwords.
export STREAMSCORE_SECURE_BROKERS=$(<"$ADDRFILE")
export STREAMSCORE_SECURE_CA=$TLS_DIR/ca.pem
export STREAMSCORE_SECURE_SCRAM512_USER=alice
export STREAMSCORE_SECURE_SCRAM512_PASSWORD=$alice_pw
export STREAMSCORE_SECURE_SCRAM256_USER=carol
export STREAMSCORE_SECURE_SCRAM256_PASSWORD=$carol_pw
export STREAMSCORE_SECURE_PLAIN_USER=bob
export STREAMSCORE_SECURE_PLAIN_PASSWORD=$bob_pw
export STREAMSCORE_SECURE_SECRETS=$SECRETS
ENV
		mv -f "$ENVFILE.tmp" "$ENVFILE"
	)
}

print_address() {
	echo "kafka-secure: listening on $(<"$ADDRFILE") (SASL_SSL)"
}

cmd_start() {
	mkdir -p "$STATE"
	lock kafka-secure
	ensure_openssl
	fetch_libs
	local pid
	if pid="$(running_pid)"; then
		if [[ -s "$ENVFILE" ]] && port_in_use "$(port_of sasl_ssl)"; then
			print_address
			return 0
		fi
		say "broker pid $pid is running but not ready; restarting it"
		stop_pid "$pid" 20
	fi
	rm -f "$PIDFILE" "$ADDRFILE" "$ENVFILE"
	rm -rf "$SECRETS"
	mkdir -p "$SECRETS"
	chmod 700 "$SECRETS"
	local sport iport cport start=$SECONDS storepass alice_pw carol_pw bob_pw
	sport="$(free_port)"
	iport="$(free_port "$sport")"
	cport="$(free_port "$sport" "$iport")"
	storepass="$(new_secret)"
	alice_pw="$(new_secret)"
	carol_pw="$(new_secret)"
	bob_pw="$(new_secret)"
	make_certs "$storepass"
	write_config "$sport" "$iport" "$cport" "$storepass" "$bob_pw"
	write_secret alice "$alice_pw"
	write_secret carol "$carol_pw"
	write_secret bob "$bob_pw"
	: >"$CONSOLE_LOG"
	: >"$SERVER_LOG"
	format_storage "$alice_pw" "$carol_pw"
	launch
	wait_ready "$LAUNCHED_PID"
	echo "127.0.0.1:$sport" >"$ADDRFILE"
	write_env "$alice_pw" "$carol_pw" "$bob_pw"
	say "started in $((SECONDS - start))s (pid $LAUNCHED_PID, internal listener 127.0.0.1:$iport, controller 127.0.0.1:$cport, state in $STATE)"
	print_address
}

cmd_stop() {
	mkdir -p "$STATE"
	lock kafka-secure
	local pid
	if pid="$(running_pid)"; then
		say "stopping broker (pid $pid)"
		stop_pid "$pid" 20
	else
		say "not running"
	fi
	rm -rf "$DATA" "$TLS_DIR" "$SECRETS"
	rm -f "$PIDFILE" "$ADDRFILE" "$PORTSFILE" "$ENVFILE" "$PROPS"
}

cmd_status() {
	if running_pid >/dev/null && [[ -s "$ADDRFILE" && -s "$ENVFILE" ]] && port_in_use "$(port_of sasl_ssl)"; then
		print_address
		return 0
	fi
	echo "kafka-secure: not running"
	return 1
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env)
	[[ -s "$ENVFILE" ]] || die "no env file; run '$0 start' first"
	echo "$ENVFILE"
	;;
*)
	echo "usage: $0 start|stop|status|env" >&2
	exit 2
	;;
esac
