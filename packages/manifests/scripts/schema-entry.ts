// Input of generate-schemas.mjs: the kubernetes-models declarations of the six kinds we read.

import type { IEndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import type { IIngress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import type { IIngressClass } from 'kubernetes-models/networking.k8s.io/v1/IngressClass';
import type { IEndpoints } from 'kubernetes-models/v1/Endpoints';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';

export interface Kinds {
  Ingress: IIngress;
  IngressClass: IIngressClass;
  Service: IService;
  EndpointSlice: IEndpointSlice;
  Endpoints: IEndpoints;
  Secret: ISecret;
}
