/** The baseline: a bare moleculer-web gateway with one echo action, nothing else. */
import { ServiceBroker } from "moleculer";
import ApiGateway from "moleculer-web";

const broker = new ServiceBroker({ logger: false, metrics: false });
broker.createService({ name: "echo", actions: { hello: { handler: () => ({ hello: "world" }) } } });
broker.createService({
  name: "api",
  mixins: [ApiGateway as any],
  settings: { port: Number(process.env.PORT ?? 0), routes: [{ path: "/", mappingPolicy: "restrict", aliases: { "GET /echo": "echo.hello" } }], logRequest: null, logResponse: null },
});
broker.start().then(() => {
  const server = (broker.getLocalService("api") as any).server;
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.on("SIGTERM", () => broker.stop().then(() => process.exit(0)));
